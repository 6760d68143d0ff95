-- genre_mask_by_movielens_id: for every MovieLens id that reaches a movie
-- (the mapping fact_rating applies: links, then dim_movie), the genres of that
-- movie as one BIGINT mask, one bit per genre of dim_genre ({{genre_bit}}:
-- 1, 2, 4, ... in the order of the genres' names; genre_popularity.sql gives
-- the same bits, and the transform refuses more than 63 genres). Movies
-- without a genre have no row. An id that links to several movies (links.csv
-- has one row per id, so only in a malformed file) gets all their genres, as
-- its ratings would through fact_rating's join.
-- fact_rating's scans read this table while they read the ratings, to fold
-- each user's genres into user_genre_masks; it is written before them.
WITH genre_bits AS (
    SELECT genre, {{genre_bit}} AS bit
    FROM dim_genre
),

movie_masks AS (
    SELECT g.tmdb_id, bit_or(b.bit) AS genre_mask
    FROM movie_genre AS g
    JOIN genre_bits AS b ON b.genre = g.genre
    GROUP BY g.tmdb_id
),

links AS (
    SELECT movielens_id, tmdb_id FROM stg_links WHERE tmdb_id IS NOT NULL
),

movies AS (
    SELECT tmdb_id FROM dim_movie
)

SELECT l.movielens_id, bit_or(mm.genre_mask) AS genre_mask
FROM links AS l
JOIN movies AS m ON m.tmdb_id = l.tmdb_id
JOIN movie_masks AS mm ON mm.tmdb_id = l.tmdb_id
GROUP BY l.movielens_id
