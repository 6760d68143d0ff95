-- rating_mapping: what became of every rating read, by outcome. The rows add
-- up to the ratings file, so nothing is dropped silently.
--   mapped                   reached a movie (= fact_rating)
--   invalid_rating           missing fields, or not a half star in 0.5 ... 5.0
--   movie_id_not_in_links    the MovieLens id is not in links.csv
--   link_has_no_tmdb_id      links.csv has an empty tmdbId for it
--   tmdb_id_not_in_metadata  the TMDB id has no movies_metadata record
WITH ratings AS (
    SELECT user_id, movielens_id, rating, rated_epoch FROM raw_ratings
),

links AS (
    SELECT movielens_id, tmdb_id FROM stg_links
),

movies AS (
    SELECT tmdb_id FROM dim_movie
),

-- The outcome depends only on the MovieLens id and on whether the rating is
-- valid, so the ratings are counted per id first (all of them, and the
-- invalid ones): tens of millions of ratings become a few thousand rows
-- before any join. One grouping key keeps the aggregation on its fast path.
ratings_per_id AS (
    SELECT
        movielens_id,
        count(*) AS n_all,
        count(*) FILTER (
            WHERE user_id IS NULL OR movielens_id IS NULL OR rated_epoch IS NULL
                OR rating IS NULL OR rating < 0.5 OR rating > 5.0
                OR rating * 2 <> round(rating * 2)
        ) AS n_invalid
    FROM ratings
    GROUP BY movielens_id
),

-- Each id's invalid and valid ratings as two rows.
ratings_per_id_and_validity AS (
    SELECT
        r.movielens_id,
        v.is_invalid,
        CASE WHEN v.is_invalid THEN r.n_invalid ELSE r.n_all - r.n_invalid END AS n_ratings
    FROM ratings_per_id AS r
    CROSS JOIN (VALUES (true), (false)) AS v (is_invalid)
),

classified AS (
    SELECT
        r.movielens_id,
        r.n_ratings,
        CASE
            WHEN r.is_invalid THEN 'invalid_rating'
            WHEN l.movielens_id IS NULL THEN 'movie_id_not_in_links'
            WHEN l.tmdb_id IS NULL THEN 'link_has_no_tmdb_id'
            WHEN m.tmdb_id IS NULL THEN 'tmdb_id_not_in_metadata'
            ELSE 'mapped'
        END AS outcome
    FROM ratings_per_id_and_validity AS r
    LEFT JOIN links AS l ON l.movielens_id = r.movielens_id
    LEFT JOIN movies AS m ON m.tmdb_id = l.tmdb_id
    WHERE r.n_ratings > 0
)

SELECT
    outcome,
    sum(n_ratings) AS n_ratings,
    count(DISTINCT movielens_id) AS n_movielens_ids
FROM classified
GROUP BY outcome
