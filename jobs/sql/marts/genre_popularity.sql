-- Q2. Which genres are most popular with users.
-- Per genre, over mapped ratings of movies in it: n_ratings, n_users (distinct),
-- n_movies (distinct rated), mean_rating, and share_of_ratings = n_ratings /
-- all mapped ratings. A movie with several genres counts in each, so shares
-- add up to more than 1. Order: n_ratings desc, genre asc.
WITH genres AS (
    SELECT tmdb_id, genre FROM movie_genre
),

-- One bit per genre: 1, 2, 4, ... in the order of the genres' names (the
-- transform refuses more than 63 genres). {{genre_bit}} is the expression
-- genre_mask_by_movielens_id.sql gives its bits with, so the masks of
-- user_genre_masks read with these bits.
genre_bits AS (
    SELECT genre, {{genre_bit}} AS bit
    FROM dim_genre
),

-- Per movie, from the per-id sums (the rows of fact_rating, summed per
-- MovieLens id; several ids can link to one movie).
movie_ratings AS (
    SELECT tmdb_id, sum(n_ratings) AS n_ratings, sum(sum_rating) AS sum_rating
    FROM ratings_by_movielens_id
    WHERE tmdb_id IS NOT NULL AND n_ratings > 0
    GROUP BY tmdb_id
),

-- All mapped ratings as a column (a window over the movies), so that
-- movie_ratings is named once: the engine inlines a CTE wherever it is
-- named, and aggregates its input again at every mention.
movie_ratings_and_total AS (
    SELECT tmdb_id, n_ratings, sum_rating, sum(n_ratings) OVER () AS all_ratings
    FROM movie_ratings
),

-- Every genre a user has rated, as one mask per user: the rows of
-- user_genre_masks (the genres of fact_rating's ratings, folded per user by
-- the scan that reads them), one per user and group of ratings files.
-- Counting the users with a genre's bit set gives n_users without a distinct
-- count over every (genre, user) pair, which is the expensive way round.
masks_per_user AS (
    SELECT user_id, bit_or(genre_mask) AS genre_mask
    FROM user_genre_masks
    GROUP BY user_id
),

users_per_genre AS (
    SELECT b.genre, count(*) AS n_users
    FROM masks_per_user AS u
    CROSS JOIN genre_bits AS b
    WHERE (u.genre_mask & b.bit) <> 0
    GROUP BY b.genre
),

ratings_per_genre AS (
    SELECT
        g.genre,
        sum(mr.n_ratings) AS n_ratings,
        count(DISTINCT g.tmdb_id) AS n_movies,
        -- Only rated movies are joined (n_ratings > 0): no division by zero.
        sum(mr.sum_rating) / CAST(sum(mr.n_ratings) AS DOUBLE) AS mean_rating,
        max(mr.all_ratings) AS all_ratings
    FROM genres AS g
    JOIN movie_ratings_and_total AS mr ON mr.tmdb_id = g.tmdb_id
    GROUP BY g.genre
)

SELECT
    p.genre,
    p.n_ratings,
    u.n_users,
    p.n_movies,
    p.mean_rating,
    CAST(p.n_ratings AS DOUBLE) / CAST(p.all_ratings AS DOUBLE) AS share_of_ratings
FROM ratings_per_genre AS p
JOIN users_per_genre AS u ON u.genre = p.genre
ORDER BY p.n_ratings DESC, p.genre ASC
