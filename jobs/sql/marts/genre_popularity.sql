-- Q2. Which genres are most popular with users.
-- Per genre, over mapped ratings of movies in it: n_ratings, n_users (distinct),
-- n_movies (distinct rated), mean_rating, and share_of_ratings = n_ratings /
-- all mapped ratings. A movie with several genres counts in each, so shares
-- add up to more than 1. Order: n_ratings desc, genre asc.
WITH ratings AS (
    SELECT user_id, tmdb_id, rating FROM fact_rating
),

genres AS (
    SELECT tmdb_id, genre FROM movie_genre
),

total AS (
    SELECT count(*) AS all_ratings FROM ratings
),

genre_ratings AS (
    SELECT g.genre, r.user_id, r.tmdb_id, r.rating
    FROM ratings AS r
    JOIN genres AS g ON g.tmdb_id = r.tmdb_id
),

per_genre AS (
    SELECT
        genre,
        count(*) AS n_ratings,
        count(DISTINCT user_id) AS n_users,
        count(DISTINCT tmdb_id) AS n_movies,
        avg(rating) AS mean_rating
    FROM genre_ratings
    GROUP BY genre
)

SELECT
    p.genre,
    p.n_ratings,
    p.n_users,
    p.n_movies,
    p.mean_rating,
    CAST(p.n_ratings AS DOUBLE) / t.all_ratings AS share_of_ratings
FROM per_genre AS p
CROSS JOIN total AS t
ORDER BY p.n_ratings DESC, p.genre ASC
