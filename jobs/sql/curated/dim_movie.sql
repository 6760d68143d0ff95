-- dim_movie: one row per TMDB movie (duplicates were resolved in staging: first
-- record in file order wins). Unknown budget/revenue (0 in the source) are NULL.
WITH staged_movies AS (
    SELECT * FROM stg_movies
),

typed AS (
    SELECT
        tmdb_id,
        imdb_id,
        title,
        original_title,
        original_language,
        adult,
        status,
        release_date,
        CAST(date_part('year', release_date) AS INT) AS release_year,
        CAST(date_part('month', release_date) AS INT) AS release_month,
        CAST(date_part('quarter', release_date) AS INT) AS release_quarter,
        budget,
        revenue,
        runtime,
        popularity,
        vote_average,
        vote_count
    FROM staged_movies
)

SELECT
    *,
    make_date(release_year, release_month, 1) AS release_month_start
FROM typed
