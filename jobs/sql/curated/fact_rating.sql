-- fact_rating: one row per rating that reaches a movie.
-- Ratings carry MovieLens ids; movies carry TMDB ids. The only bridge is
-- links.csv: ratings.movieId -> links.movieId -> links.tmdbId -> dim_movie.tmdb_id.
--
-- This query classifies every rating read, so the ratings file is parsed once
-- for two tables: the transform writes the result partitioned by outcome; the
-- outcome = 'mapped' rows become fact_rating (without the outcome column) and
-- the others stay in unmapped_rating, which rating_mapping counts.
--   mapped                   reached a movie
--   invalid_rating           missing fields, or not a half star in 0.5 ... 5.0
--   movie_id_not_in_links    the MovieLens id is not in links.csv
--   link_has_no_tmdb_id      links.csv has an empty tmdbId for it
--   tmdb_id_not_in_metadata  the TMDB id has no movies_metadata record
-- {{ratings}} is the raw ratings table, or one shard of its files: the table is
-- written by several jobs at once (see engine.fact_write_shards).
WITH ratings AS (
    SELECT
        user_id,
        movielens_id,
        rating,
        rated_epoch,
        user_id IS NULL OR movielens_id IS NULL OR rated_epoch IS NULL
            OR rating IS NULL OR rating < 0.5 OR rating > 5.0
            OR rating * 2 <> round(rating * 2) AS is_invalid
    FROM {{ratings}}
),

links AS (
    SELECT movielens_id, tmdb_id FROM stg_links
),

movies AS (
    SELECT tmdb_id FROM dim_movie
),

-- What happens to a rating of each MovieLens id in links.csv: a few thousand
-- rows. It is the left input of the join below on purpose: a hash join builds
-- its table from the left input, so this small one is sent whole to every
-- task that reads ratings, and the ratings are never shuffled.
link_outcomes AS (
    SELECT
        l.movielens_id,
        l.tmdb_id,
        CASE
            WHEN l.tmdb_id IS NULL THEN 'link_has_no_tmdb_id'
            WHEN m.tmdb_id IS NULL THEN 'tmdb_id_not_in_metadata'
            ELSE 'mapped'
        END AS link_outcome
    FROM links AS l
    LEFT JOIN movies AS m ON m.tmdb_id = l.tmdb_id
),

classified AS (
    SELECT
        r.user_id,
        lo.tmdb_id,
        r.movielens_id,
        r.rating,
        r.rated_epoch,
        CASE
            WHEN r.is_invalid THEN 'invalid_rating'
            WHEN lo.movielens_id IS NULL THEN 'movie_id_not_in_links'
            ELSE lo.link_outcome
        END AS outcome
    FROM link_outcomes AS lo
    RIGHT JOIN ratings AS r ON r.movielens_id = lo.movielens_id
)

SELECT
    user_id,
    tmdb_id,
    movielens_id,
    rating,
    CASE
        WHEN outcome <> 'invalid_rating' THEN to_timestamp_micros(rated_epoch * 1000000)
    END AS rated_at,
    outcome
FROM classified
