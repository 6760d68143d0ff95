-- movie_genre: which genres each movie has (bridge between dim_movie and
-- dim_genre). Genres are identified by their name.
WITH staged_genres AS (
    SELECT tmdb_id, genre FROM stg_movie_genres
),

movies AS (
    SELECT tmdb_id FROM dim_movie
)

SELECT g.tmdb_id, g.genre
FROM staged_genres AS g
JOIN movies AS m ON m.tmdb_id = g.tmdb_id
