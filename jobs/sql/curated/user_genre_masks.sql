-- user_genre_masks: the users of one group of raw ratings files (the parts
-- one fact_rating shard reads), each with every genre their ratings reach as
-- one mask (the bits of genre_mask_by_movielens_id). Only the ratings
-- fact_rating keeps count: valid ({{valid_rating}}, the rule of
-- transform/valid_rating.rs) and reaching a movie. A user whose ratings reach
-- no movie with a genre has no row; a user whose ratings span two groups has
-- a row in each. genre_popularity ORs the rows of a user together.
-- fact_rating's scan computes these rows itself while it reads the group
-- (ratings_csv/per_id.rs), so the ratings are read once per run. This file is
-- their definition: the transform runs it for a group whose masks the scan
-- did not write, and a test holds the scan's rows equal to it.
-- {{ratings}} is one group's raw ratings.
WITH ratings AS (
    SELECT user_id, movielens_id
    FROM {{ratings}}
    WHERE {{valid_rating}}
)

SELECT r.user_id, bit_or(m.genre_mask) AS genre_mask
FROM genre_mask_by_movielens_id AS m
JOIN ratings AS r ON r.movielens_id = m.movielens_id
GROUP BY r.user_id
