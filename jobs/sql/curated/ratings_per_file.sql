-- ratings_per_file: the ratings of one group of raw ratings files (the parts
-- one fact_rating shard reads), summed per MovieLens id (one row per id the
-- group has; a NULL id for lines whose id could not be read).
-- ratings_by_movielens_id adds these rows up over the groups.
--   n_ratings   valid ratings ({{valid_rating}}: the rule fact_rating applies,
--               written once in transform/valid_rating.rs)
--   sum_rating  their sum (exact: sums of half stars are exact in a double)
--   n_invalid   the other ratings read
-- fact_rating's scan computes these rows itself while it reads the group
-- (ratings_csv/per_id.rs), so the ratings are parsed once per run. This file
-- is their definition: the transform runs it for a group whose sums the scan
-- did not write, and a test holds the scan's rows equal to it.
-- {{ratings}} is one group's raw ratings.
WITH validated AS (
    SELECT
        movielens_id,
        -- The rating when it passes the rule, else NULL: count() and sum()
        -- skip NULLs, so one grouping key and three plain aggregates give
        -- all the figures.
        CASE WHEN {{valid_rating}} THEN rating END AS valid_rating
    FROM {{ratings}}
)

SELECT
    movielens_id,
    count(valid_rating) AS n_ratings,
    coalesce(sum(valid_rating), 0.0) AS sum_rating,
    count(*) - count(valid_rating) AS n_invalid
FROM validated
GROUP BY movielens_id
