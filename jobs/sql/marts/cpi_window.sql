-- Q4 context: the CPI base month and which movies with revenue the CPI series
-- could deflate. One row.
--   cpi_base_month             last month of the series with a value
--   movies_before_cpi_window   released before the series' first month (excluded)
--   movies_without_cpi_value   released in a month left blank ('.') or after the
--                              series ends (excluded)
--   movies_deflated            the rest: the movies genre_earnings_real sums
WITH cpi AS (
    SELECT month, cpi FROM dim_cpi
),

base AS (
    SELECT month AS base_month, cpi AS base_cpi
    FROM cpi
    WHERE cpi IS NOT NULL
    ORDER BY month DESC
    LIMIT 1
),

series_start AS (
    SELECT min(month) AS first_month FROM cpi
),

movies AS (
    SELECT m.tmdb_id, m.release_month_start, c.cpi
    FROM dim_movie AS m
    LEFT JOIN cpi AS c ON c.month = m.release_month_start
    WHERE m.revenue IS NOT NULL AND m.release_date IS NOT NULL
),

counted AS (
    SELECT
        sum(CASE WHEN m.release_month_start < s.first_month THEN 1 ELSE 0 END) AS movies_before_cpi_window,
        sum(CASE WHEN m.release_month_start >= s.first_month AND m.cpi IS NULL THEN 1 ELSE 0 END) AS movies_without_cpi_value,
        sum(CASE WHEN m.cpi IS NOT NULL THEN 1 ELSE 0 END) AS movies_deflated
    FROM movies AS m
    CROSS JOIN series_start AS s
)

SELECT
    b.base_month AS cpi_base_month,
    b.base_cpi,
    COALESCE(c.movies_before_cpi_window, 0) AS movies_before_cpi_window,
    COALESCE(c.movies_without_cpi_value, 0) AS movies_without_cpi_value,
    COALESCE(c.movies_deflated, 0) AS movies_deflated
FROM base AS b
CROSS JOIN counted AS c
