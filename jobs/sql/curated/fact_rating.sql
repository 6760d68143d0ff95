-- fact_rating: one row per rating that reaches a movie.
-- Ratings carry MovieLens ids; movies carry TMDB ids. The only bridge is
-- links.csv: ratings.movieId -> links.movieId -> links.tmdbId -> dim_movie.tmdb_id.
-- Ratings that do not make it are counted by reason in rating_mapping.
-- {{ratings}} is the raw ratings table, or one shard of its files: the table is
-- written by several jobs at once (see engine.fact_write_shards).
WITH ratings AS (
    SELECT user_id, movielens_id, rating, rated_epoch
    FROM {{ratings}}
    -- {{valid_rating}} is the one validity rule (transform/valid_rating.rs):
    -- fields present, a half star 0.5 ... 5.0, a time from 1995 to staging.
    WHERE {{valid_rating}}
),

links AS (
    SELECT movielens_id, tmdb_id FROM stg_links WHERE tmdb_id IS NOT NULL
),

movies AS (
    SELECT tmdb_id FROM dim_movie
),

-- The MovieLens ids that reach a movie: a few thousand rows. It is the left
-- input of the join below on purpose: the left input is the one a hash join
-- builds its table from, so this small one is sent whole to every task that
-- reads ratings, and the ratings are never shuffled.
mapped_ids AS (
    SELECT l.movielens_id, l.tmdb_id
    FROM links AS l
    JOIN movies AS m ON m.tmdb_id = l.tmdb_id
)

SELECT
    r.user_id,
    i.tmdb_id,
    r.movielens_id,
    r.rating,
    -- rated_epoch is at most the staging time here, so the product stays far
    -- below 2^63 microseconds.
    to_timestamp_micros(r.rated_epoch * CAST(1000000 AS BIGINT)) AS rated_at
FROM mapped_ids AS i
JOIN ratings AS r ON r.movielens_id = i.movielens_id
