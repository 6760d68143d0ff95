-- Q1. The highest rated movies of all time, by weighted rating (IMDb's formula).
--   n = ratings of the movie, R = their mean, C = mean of all mapped ratings,
--   m = continuous {{percentile}} percentile of per-movie rating counts
--       (linear interpolation between closest ranks, like percentile_cont),
--   weighted = n/(n+m)*R + m/(n+m)*C.
-- Only ratings that reach a movie through links.csv count: the rows of
-- fact_rating, summed per MovieLens id in ratings_by_movielens_id (several ids
-- can link to one movie).
-- Order: weighted desc, n desc, tmdb_id asc; top {{top_n}}.
WITH mapped_ids AS (
    SELECT tmdb_id, n_ratings, sum_rating
    FROM ratings_by_movielens_id
    WHERE tmdb_id IS NOT NULL AND n_ratings > 0
),

movie_stats AS (
    SELECT
        tmdb_id,
        sum(n_ratings) AS n_ratings,
        sum(sum_rating) / sum(n_ratings) AS mean_rating,
        sum(sum_rating) AS sum_rating
    FROM mapped_ids
    GROUP BY tmdb_id
),

-- From here on each step reads the one before it once, and figures over all
-- movies are window aggregates (OVER ()) rather than joins: the engine
-- inlines a CTE wherever it is named, so every further mention of
-- movie_stats would aggregate its input again.
-- idx = 0-based position by rating count, pos = the percentile's position.
positioned AS (
    SELECT
        tmdb_id,
        n_ratings,
        mean_rating,
        row_number() OVER (ORDER BY n_ratings) - 1 AS idx,
        {{percentile}} * (count(*) OVER () - 1) AS pos,
        sum(sum_rating) OVER () / sum(n_ratings) OVER () AS global_mean_rating,
        sum(n_ratings) OVER () AS rated_ratings
    FROM movie_stats
),

-- The counts at the closest ranks below and above the position.
neighbours AS (
    SELECT
        *,
        max(CASE WHEN idx = floor(pos) THEN CAST(n_ratings AS DOUBLE) END) OVER () AS lower_n,
        max(CASE WHEN idx = ceil(pos) THEN CAST(n_ratings AS DOUBLE) END) OVER () AS upper_n
    FROM positioned
),

thresholded AS (
    SELECT
        tmdb_id,
        n_ratings,
        mean_rating,
        global_mean_rating,
        rated_ratings,
        lower_n + (upper_n - lower_n) * (pos - floor(pos)) AS min_ratings
    FROM neighbours
),

weighted AS (
    SELECT
        *,
        n_ratings / (n_ratings + min_ratings) * mean_rating
            + min_ratings / (n_ratings + min_ratings) * global_mean_rating AS weighted_rating
    FROM thresholded
),

ranked AS (
    SELECT
        *,
        CAST(row_number() OVER (ORDER BY weighted_rating DESC, n_ratings DESC, tmdb_id ASC) AS BIGINT) AS rank
    FROM weighted
)

SELECT
    r.rank,
    r.tmdb_id,
    d.title,
    d.release_year,
    r.n_ratings,
    r.mean_rating,
    r.weighted_rating,
    r.global_mean_rating,
    r.min_ratings,
    r.rated_ratings
FROM ranked AS r
JOIN dim_movie AS d ON d.tmdb_id = r.tmdb_id
WHERE r.rank <= {{top_n}}
ORDER BY r.rank
