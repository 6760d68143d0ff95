-- dim_date: every calendar day from {{date_from}} to {{date_to}}: the span of
-- release dates, rating dates and CPI months, whole years.
WITH days AS (
    SELECT unnest(range(DATE '{{date_from}}', DATE '{{date_to}}' + INTERVAL '1 day', INTERVAL '1 day')) AS day
)

SELECT
    CAST(day AS DATE) AS date_key,
    CAST(date_part('year', day) AS INT) AS year,
    CAST(date_part('quarter', day) AS INT) AS quarter,
    CAST(date_part('month', day) AS INT) AS month,
    CAST(date_part('day', day) AS INT) AS day_of_month,
    CAST(date_part('isodow', day) AS INT) AS iso_day_of_week,
    make_date(CAST(date_part('year', day) AS INT), CAST(date_part('month', day) AS INT), 1) AS month_start
FROM days
