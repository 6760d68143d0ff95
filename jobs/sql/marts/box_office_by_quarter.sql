-- Q3b. Box office by release quarter (1 = Jan-Mar ... 4 = Oct-Dec).
-- Same movies and measures as box_office_by_month. Order: quarter.
WITH movies AS (
    SELECT release_quarter, CAST(revenue AS DOUBLE) AS revenue, revenue AS revenue_exact
    FROM dim_movie
    WHERE revenue IS NOT NULL AND release_date IS NOT NULL
)

SELECT
    release_quarter AS quarter,
    count(*) AS n_movies,
    sum(revenue_exact) AS total_revenue,
    avg(revenue) AS mean_revenue,
    median(revenue) AS median_revenue
FROM movies
GROUP BY release_quarter
ORDER BY quarter
