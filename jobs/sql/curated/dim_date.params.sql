-- dim_date's span, run just before dim_date.sql to fill its {{date_from}} and
-- {{date_to}}: whole years from the first to the last of release dates, rating
-- dates and CPI months (1995 when all are empty).
-- Each table's first and last instant, then their years: min/max of a column
-- come from the parquet statistics or one cheap pass, where the year of every
-- one of fact_rating's rows would not. Cross joins of one-row tables, not a
-- UNION ALL: Ballista 55 loses track of a union's tasks when its branches plan
-- differently (one answered from statistics, one scanned), and the job never
-- finishes. least/greatest skip NULLs.
SELECT
    CAST(make_date(lo, 1, 1) AS VARCHAR) AS date_from,
    CAST(make_date(hi, 12, 31) AS VARCHAR) AS date_to
FROM (
    SELECT
        coalesce(least(m.lo, f.lo, c.lo), 1995) AS lo,
        coalesce(greatest(m.hi, f.hi, c.hi), least(m.lo, f.lo, c.lo), 1995) AS hi
    FROM (SELECT CAST(date_part('year', min(release_date)) AS INT) AS lo,
                 CAST(date_part('year', max(release_date)) AS INT) AS hi FROM dim_movie) AS m
    CROSS JOIN (SELECT CAST(date_part('year', min(rated_at)) AS INT) AS lo,
                 CAST(date_part('year', max(rated_at)) AS INT) AS hi FROM fact_rating) AS f
    CROSS JOIN (SELECT CAST(date_part('year', min(month)) AS INT) AS lo,
                 CAST(date_part('year', max(month)) AS INT) AS hi FROM dim_cpi) AS c
) AS span
