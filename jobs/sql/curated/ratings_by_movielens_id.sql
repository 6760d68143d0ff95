-- ratings_by_movielens_id: every rating read, summed per MovieLens id, with
-- the movie its valid ratings reach. rating_mapping and the marts' per-movie
-- figures are built from these rows (one per id, a few hundred thousand at
-- most) instead of aggregating tens of millions of ratings again.
--   n_ratings   valid ratings: user, id and time present, a half star 0.5 ... 5.0,
--               rated from 1995 to the staging time (the rule fact_rating
--               applies, written once in transform/valid_rating.rs)
--   sum_rating  their sum (exact: sums of half stars are exact in a double)
--   n_invalid   the other ratings read
--   outcome     what became of the valid ratings (the reasons of rating_mapping):
--               mapped, movie_id_not_in_links, link_has_no_tmdb_id,
--               tmdb_id_not_in_metadata
--   tmdb_id     the movie they reach; NULL unless mapped
-- Lines whose MovieLens id could not be read share one row with a NULL id.
-- The counts come per group of raw ratings files (one fact_rating shard's)
-- from ratings_per_file (defined in ratings_per_file.sql, computed by
-- fact_rating's scan of the same files), so the raw ratings are read once per
-- run, not twice.
WITH links AS (
    SELECT movielens_id, tmdb_id FROM stg_links
),

movies AS (
    SELECT tmdb_id FROM dim_movie
),

per_id AS (
    SELECT
        movielens_id,
        sum(n_ratings) AS n_ratings,
        sum(sum_rating) AS sum_rating,
        sum(n_invalid) AS n_invalid
    FROM ratings_per_file
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
