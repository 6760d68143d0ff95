-- Q4. Which genres earn the most of all time, normalised against the CPI.
--   base month = the last month of the CPI series that has a value;
--   real = revenue * CPI(base month) / CPI(release month).
-- Movies with a known revenue whose release month is in the series and has a
-- value. Movies released before the series starts cannot be deflated: they
-- are excluded and counted in cpi_window.movies_before_cpi_window. (Movies
-- released in a month FRED left blank, or after the series ends, are excluded
-- too, and counted there as well.)
-- A movie counts in each of its genres. Order: revenue_real desc, genre asc.
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

movies AS (
    SELECT tmdb_id, revenue, release_month_start
    FROM dim_movie
    WHERE revenue IS NOT NULL AND release_date IS NOT NULL
),

deflated AS (
    SELECT
        m.tmdb_id,
        m.revenue,
        CAST(m.revenue AS DOUBLE) * b.base_cpi / c.cpi AS revenue_real
    FROM movies AS m
    JOIN cpi AS c ON c.month = m.release_month_start AND c.cpi IS NOT NULL
    CROSS JOIN base AS b
),

per_genre AS (
    SELECT
        g.genre,
        count(*) AS n_movies,
        sum(d.revenue) AS revenue_nominal,
        sum(d.revenue_real) AS revenue_real
    FROM deflated AS d
    JOIN movie_genre AS g ON g.tmdb_id = d.tmdb_id
    GROUP BY g.genre
)

SELECT
    genre,
    n_movies,
    revenue_nominal,
    revenue_real
FROM per_genre
ORDER BY revenue_real DESC, genre ASC
