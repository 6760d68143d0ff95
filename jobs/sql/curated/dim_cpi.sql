-- dim_cpi: the monthly CPI series (FRED CUSR0000SS62031, admission to movies,
-- theaters and concerts). A month FRED wrote as '.' has a NULL cpi.
WITH staged_cpi AS (
    SELECT series_id, month, cpi FROM stg_cpi
)

SELECT
    month,
    CAST(date_part('year', month) AS INT) AS year,
    CAST(date_part('month', month) AS INT) AS month_of_year,
    cpi,
    series_id
FROM staged_cpi
