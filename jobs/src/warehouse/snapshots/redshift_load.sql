CREATE TEMP TABLE stage_fact_rating (
    "user_id" BIGINT,
    "tmdb_id" BIGINT,
    "movielens_id" BIGINT,
    "rating" DOUBLE PRECISION,
    "rated_at" TIMESTAMP
);

COPY stage_fact_rating FROM 's3://lake/p/curated/runs/r1/_redshift/fact_rating.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.fact_rating;

INSERT INTO movielens.fact_rating ("user_id", "tmdb_id", "movielens_id", "rating", "rated_at")
SELECT "user_id", "tmdb_id", "movielens_id", CAST("rating" AS NUMERIC(2,1)), "rated_at" FROM stage_fact_rating;

DROP TABLE stage_fact_rating;

CREATE TEMP TABLE stage_dim_movie (
    "tmdb_id" BIGINT,
    "imdb_id" VARCHAR(65535),
    "title" VARCHAR(65535),
    "original_title" VARCHAR(65535),
    "original_language" VARCHAR(65535),
    "adult" BOOLEAN,
    "status" VARCHAR(65535),
    "release_date" DATE,
    "release_year" INTEGER,
    "release_month" INTEGER,
    "release_quarter" INTEGER,
    "budget" BIGINT,
    "revenue" BIGINT,
    "runtime" DOUBLE PRECISION,
    "popularity" DOUBLE PRECISION,
    "vote_average" DOUBLE PRECISION,
    "vote_count" BIGINT,
    "release_month_start" DATE
);

COPY stage_dim_movie FROM 's3://lake/p/curated/runs/r1/_redshift/dim_movie.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.dim_movie;

INSERT INTO movielens.dim_movie ("tmdb_id", "imdb_id", "title", "original_title", "original_language", "adult", "status", "release_date", "release_year", "release_month", "release_quarter", "budget", "revenue", "runtime", "popularity", "vote_average", "vote_count", "release_month_start")
SELECT "tmdb_id", "imdb_id", "title", "original_title", "original_language", "adult", "status", "release_date", "release_year", "release_month", "release_quarter", "budget", "revenue", "runtime", "popularity", "vote_average", "vote_count", "release_month_start" FROM stage_dim_movie;

DROP TABLE stage_dim_movie;
