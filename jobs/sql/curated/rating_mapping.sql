-- rating_mapping: what became of every rating read, by outcome. The rows add
-- up to the ratings file, so nothing is dropped silently.
--   mapped                   reached a movie (= fact_rating)
--   invalid_rating           missing fields, or not a half star in 0.5 ... 5.0
--   movie_id_not_in_links    the MovieLens id is not in links.csv
--   link_has_no_tmdb_id      links.csv has an empty tmdbId for it
--   tmdb_id_not_in_metadata  the TMDB id has no movies_metadata record
-- n_movielens_ids counts the distinct ids (an unreadable id is not counted).
WITH per_id AS (
    SELECT movielens_id, outcome, n_ratings, n_invalid FROM ratings_by_movielens_id
),

-- Each id's valid and invalid ratings as two rows (a cross join rather than
-- a UNION ALL: Ballista 55 loses track of a union's tasks when its branches
-- plan differently, and the job never finishes).
per_id_and_validity AS (
    SELECT
        r.movielens_id,
        CASE WHEN v.is_invalid THEN 'invalid_rating' ELSE r.outcome END AS outcome,
        CASE WHEN v.is_invalid THEN r.n_invalid ELSE r.n_ratings END AS n_ratings
    FROM per_id AS r
    CROSS JOIN (VALUES (true), (false)) AS v (is_invalid)
)

SELECT
    outcome,
    sum(n_ratings) AS n_ratings,
    count(DISTINCT movielens_id) AS n_movielens_ids
FROM per_id_and_validity
WHERE n_ratings > 0
GROUP BY outcome
