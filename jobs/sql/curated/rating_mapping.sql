-- rating_mapping: what became of every rating read, by outcome. The rows add
-- up to the ratings file, so nothing is dropped silently. Outcomes are
-- defined in fact_rating.sql, which classifies every rating: the mapped ones
-- are fact_rating, the others unmapped_rating.
WITH mapped AS (
    SELECT 'mapped' AS outcome, movielens_id FROM fact_rating
),

unmapped AS (
    SELECT outcome, movielens_id FROM unmapped_rating
),

classified AS (
    SELECT outcome, movielens_id FROM mapped
    UNION ALL
    SELECT outcome, movielens_id FROM unmapped
)

SELECT
    outcome,
    count(*) AS n_ratings,
    count(DISTINCT movielens_id) AS n_movielens_ids
FROM classified
GROUP BY outcome
