-- ratings_by_movielens_id: every rating read, summed per MovieLens id, with
-- the movie its valid ratings reach. It is the one pass over the raw ratings
-- besides fact_rating's: rating_mapping and the marts' per-movie figures are
-- built from these rows (one per id, a few hundred thousand at most) instead
-- of aggregating tens of millions of ratings again.
--   n_ratings   valid ratings: user, id and time present, a half star 0.5 ... 5.0,
--               rated from 1995 to the staging time ({{valid_rating}}, the rule
--               fact_rating applies, written once in transform/valid_rating.rs)
--   sum_rating  their sum (exact: sums of half stars are exact in a double)
--   n_invalid   the other ratings read
--   outcome     what became of the valid ratings (the reasons of rating_mapping):
--               mapped, movie_id_not_in_links, link_has_no_tmdb_id,
--               tmdb_id_not_in_metadata
--   tmdb_id     the movie they reach; NULL unless mapped
-- Lines whose MovieLens id could not be read share one row with a NULL id.
WITH ratings AS (
    SELECT user_id, movielens_id, rating, rated_epoch FROM raw_ratings
),

links AS (
    SELECT movielens_id, tmdb_id FROM stg_links
),

movies AS (
    SELECT tmdb_id FROM dim_movie
),

-- valid_rating is the rating when it passes fact_rating's rule, else NULL:
-- count() and sum() skip NULLs, so one grouping key and three plain
-- aggregates give all the figures (the engine's fast path).
validated AS (
    SELECT
        movielens_id,
        CASE WHEN {{valid_rating}} THEN rating END AS valid_rating
    FROM ratings
),

per_id AS (
    SELECT
        movielens_id,
        count(valid_rating) AS n_ratings,
        coalesce(sum(valid_rating), 0.0) AS sum_rating,
        count(*) - count(valid_rating) AS n_invalid
    FROM validated
    GROUP BY movielens_id
)

SELECT
    r.movielens_id,
    m.tmdb_id,
    CASE
        WHEN l.movielens_id IS NULL THEN 'movie_id_not_in_links'
        WHEN l.tmdb_id IS NULL THEN 'link_has_no_tmdb_id'
        WHEN m.tmdb_id IS NULL THEN 'tmdb_id_not_in_metadata'
        ELSE 'mapped'
    END AS outcome,
    r.n_ratings,
    r.sum_rating,
    r.n_invalid
FROM per_id AS r
LEFT JOIN links AS l ON l.movielens_id = r.movielens_id
LEFT JOIN movies AS m ON m.tmdb_id = l.tmdb_id
