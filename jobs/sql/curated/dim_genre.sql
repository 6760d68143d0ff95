-- dim_genre: one row per genre name, with the TMDB genre id and how many
-- movies carry it.
WITH staged_genres AS (
    SELECT tmdb_id, genre_id, genre FROM stg_movie_genres
)

SELECT
    genre,
    min(genre_id) AS tmdb_genre_id,
    count(DISTINCT tmdb_id) AS n_movies
FROM staged_genres
GROUP BY genre
