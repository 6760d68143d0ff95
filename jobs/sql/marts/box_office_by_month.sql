-- Q3a. Box office by release month (1 = January ... 12 = December).
-- Movies with a known revenue (> 0) and a release date. Median is continuous
-- (mean of the two middle values for an even count). Order: month.
WITH movies AS (
    SELECT release_month, CAST(revenue AS DOUBLE) AS revenue, revenue AS revenue_exact
    FROM dim_movie
    WHERE revenue IS NOT NULL AND release_date IS NOT NULL
)

SELECT
    release_month AS month,
    count(*) AS n_movies,
    sum(revenue_exact) AS total_revenue,
    avg(revenue) AS mean_revenue,
    median(revenue) AS median_revenue
FROM movies
GROUP BY release_month
ORDER BY month
