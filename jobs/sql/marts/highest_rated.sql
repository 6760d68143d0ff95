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
        -- n_ratings > 0 above, so no division by zero; the sum of half stars
        -- is exact in a DOUBLE (below 2^52 of them).
        sum(sum_rating) / CAST(sum(n_ratings) AS DOUBLE) AS mean_rating,
        sum(sum_rating) AS sum_rating
    FROM mapped_ids
    GROUP BY tmdb_id
),

-- From here on each step reads the one before it once, and figures over all
-- movies are window aggregates (OVER ()) rather than joins: the engine
-- inlines a CTE wherever it is named, so every further mention of
-- movie_stats would aggregate its input again.
-- idx = 0-based position by rating count, pos = the percentile's position.
-- Types are spelled out, never left to coercion: DataFusion 55 types
-- `row_number() OVER (...) - 1` (UInt64 minus Int64) as Decimal128(21,0), and
-- compares a Decimal128 with a Float64 wrongly for some integers (364161 is
-- the first), so once a catalogue passes ~364k movies `idx = floor(pos)` never
-- matched and min_ratings was NULL. idx is a BIGINT, pos a DOUBLE, and they
-- meet only as BIGINTs below. Counts stay BIGINT: 2.6 billion ratings at
-- 100x fit with room to spare.
positioned AS (
    SELECT
        tmdb_id,
        n_ratings,
        mean_rating,
        CAST(row_number() OVER (ORDER BY n_ratings) AS BIGINT) - CAST(1 AS BIGINT) AS idx,
        CAST({{percentile}} AS DOUBLE) * CAST(count(*) OVER () - CAST(1 AS BIGINT) AS DOUBLE) AS pos,
        sum(sum_rating) OVER () / CAST(sum(n_ratings) OVER () AS DOUBLE) AS global_mean_rating,
        sum(n_ratings) OVER () AS rated_ratings
    FROM movie_stats
),

-- The counts at the closest ranks below and above the position. floor and
-- ceil of a DOUBLE are DOUBLEs: cast to BIGINT so the comparison with idx is
-- integer equality (exact for any position below 2^53).
neighbours AS (
    SELECT
        *,
        max(CASE WHEN idx = CAST(floor(pos) AS BIGINT) THEN CAST(n_ratings AS DOUBLE) END) OVER () AS lower_n,
        max(CASE WHEN idx = CAST(ceil(pos) AS BIGINT) THEN CAST(n_ratings AS DOUBLE) END) OVER () AS upper_n
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

-- n as a DOUBLE, so that n / (n + m) is a float division by construction.
weighted AS (
    SELECT
        *,
        CAST(n_ratings AS DOUBLE) / (CAST(n_ratings AS DOUBLE) + min_ratings) * mean_rating
            + min_ratings / (CAST(n_ratings AS DOUBLE) + min_ratings) * global_mean_rating AS weighted_rating
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
