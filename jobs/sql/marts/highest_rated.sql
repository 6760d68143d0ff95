-- Q1. The highest rated movies of all time, by weighted rating (IMDb's formula).
--   n = ratings of the movie, R = their mean, C = mean of all mapped ratings,
--   m = continuous {{percentile}} percentile of per-movie rating counts
--       (linear interpolation between closest ranks, like percentile_cont),
--   weighted = n/(n+m)*R + m/(n+m)*C.
-- Only ratings that reach a movie through links.csv count (fact_rating).
-- Order: weighted desc, n desc, tmdb_id asc; top {{top_n}}.
WITH ratings AS (
    SELECT tmdb_id, rating FROM fact_rating
),

movie_stats AS (
    SELECT tmdb_id, count(*) AS n_ratings, avg(rating) AS mean_rating, sum(rating) AS sum_rating
    FROM ratings
    GROUP BY tmdb_id
),

-- From the per-movie sums rather than the ratings again: one pass over
-- fact_rating instead of two.
overall AS (
    SELECT sum(sum_rating) / sum(n_ratings) AS global_mean_rating, sum(n_ratings) AS rated_ratings
    FROM movie_stats
),

ordered_counts AS (
    SELECT
        CAST(n_ratings AS DOUBLE) AS n,
        row_number() OVER (ORDER BY n_ratings) - 1 AS idx
    FROM movie_stats
),

percentile_position AS (
    SELECT {{percentile}} * (count(*) - 1) AS pos FROM movie_stats
),

neighbours AS (
    SELECT
        p.pos,
        max(CASE WHEN o.idx = floor(p.pos) THEN o.n END) AS lower_n,
        max(CASE WHEN o.idx = ceil(p.pos) THEN o.n END) AS upper_n
    FROM ordered_counts AS o
    CROSS JOIN percentile_position AS p
    GROUP BY p.pos
),

threshold AS (
    SELECT lower_n + (upper_n - lower_n) * (pos - floor(pos)) AS min_ratings FROM neighbours
),

weighted AS (
    SELECT
        s.tmdb_id,
        s.n_ratings,
        s.mean_rating,
        s.n_ratings / (s.n_ratings + t.min_ratings) * s.mean_rating
            + t.min_ratings / (s.n_ratings + t.min_ratings) * o.global_mean_rating AS weighted_rating,
        o.global_mean_rating,
        o.rated_ratings,
        t.min_ratings
    FROM movie_stats AS s
    CROSS JOIN overall AS o
    CROSS JOIN threshold AS t
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
