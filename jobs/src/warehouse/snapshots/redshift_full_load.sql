BEGIN;

LOCK movielens.loads;

DROP TABLE IF EXISTS movielens.dim_movie;

CREATE TABLE movielens.dim_movie (
    "tmdb_id" BIGINT NOT NULL,
    "imdb_id" VARCHAR(32),
    "title" VARCHAR(2048) NOT NULL,
    "original_title" VARCHAR(2048) NOT NULL,
    "original_language" VARCHAR(16),
    "adult" BOOLEAN NOT NULL,
    "status" VARCHAR(64),
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
    "release_month_start" DATE,
    PRIMARY KEY ("tmdb_id")
)
DISTSTYLE ALL
SORTKEY ("tmdb_id");

DROP TABLE IF EXISTS movielens.movie_genre;

CREATE TABLE movielens.movie_genre (
    "tmdb_id" BIGINT NOT NULL,
    "genre" VARCHAR(256) NOT NULL,
    PRIMARY KEY ("tmdb_id", "genre")
)
DISTSTYLE ALL
SORTKEY ("tmdb_id");

DROP TABLE IF EXISTS movielens.dim_genre;

CREATE TABLE movielens.dim_genre (
    "genre" VARCHAR(256) NOT NULL,
    "tmdb_genre_id" BIGINT,
    "n_movies" BIGINT NOT NULL,
    PRIMARY KEY ("genre")
)
DISTSTYLE ALL
SORTKEY ("genre");

DROP TABLE IF EXISTS movielens.fact_rating;

CREATE TABLE movielens.fact_rating (
    "user_id" BIGINT NOT NULL,
    "tmdb_id" BIGINT NOT NULL,
    "movielens_id" BIGINT NOT NULL,
    "rating" NUMERIC(2,1) NOT NULL,
    "rated_at" TIMESTAMP NOT NULL
)
DISTSTYLE KEY DISTKEY ("tmdb_id")
SORTKEY ("rated_at");

DROP TABLE IF EXISTS movielens.ratings_by_movielens_id;

CREATE TABLE movielens.ratings_by_movielens_id (
    "movielens_id" BIGINT,
    "tmdb_id" BIGINT,
    "outcome" VARCHAR(64) NOT NULL,
    "n_ratings" BIGINT NOT NULL,
    "sum_rating" DOUBLE PRECISION NOT NULL,
    "n_invalid" BIGINT NOT NULL
)
DISTSTYLE ALL
SORTKEY ("movielens_id");

DROP TABLE IF EXISTS movielens.rating_mapping;

CREATE TABLE movielens.rating_mapping (
    "outcome" VARCHAR(64) NOT NULL,
    "n_ratings" BIGINT NOT NULL,
    "n_movielens_ids" BIGINT NOT NULL,
    PRIMARY KEY ("outcome")
)
DISTSTYLE ALL
SORTKEY ("outcome");

DROP TABLE IF EXISTS movielens.dim_cpi;

CREATE TABLE movielens.dim_cpi (
    "month" DATE NOT NULL,
    "year" INTEGER NOT NULL,
    "month_of_year" INTEGER NOT NULL,
    "cpi" DOUBLE PRECISION,
    "series_id" VARCHAR(32) NOT NULL,
    PRIMARY KEY ("month")
)
DISTSTYLE ALL
SORTKEY ("month");

DROP TABLE IF EXISTS movielens.dim_date;

CREATE TABLE movielens.dim_date (
    "date_key" DATE NOT NULL,
    "year" INTEGER NOT NULL,
    "quarter" INTEGER NOT NULL,
    "month" INTEGER NOT NULL,
    "day_of_month" INTEGER NOT NULL,
    "iso_day_of_week" INTEGER NOT NULL,
    "month_start" DATE NOT NULL,
    PRIMARY KEY ("date_key")
)
DISTSTYLE ALL
SORTKEY ("date_key");

DROP TABLE IF EXISTS movielens.highest_rated;

CREATE TABLE movielens.highest_rated (
    "rank" BIGINT NOT NULL,
    "tmdb_id" BIGINT NOT NULL,
    "title" VARCHAR(2048) NOT NULL,
    "release_year" INTEGER,
    "n_ratings" BIGINT NOT NULL,
    "mean_rating" DOUBLE PRECISION NOT NULL,
    "weighted_rating" DOUBLE PRECISION NOT NULL,
    "global_mean_rating" DOUBLE PRECISION NOT NULL,
    "min_ratings" DOUBLE PRECISION NOT NULL,
    "rated_ratings" BIGINT NOT NULL,
    PRIMARY KEY ("rank")
)
DISTSTYLE ALL
SORTKEY ("rank");

DROP TABLE IF EXISTS movielens.genre_popularity;

CREATE TABLE movielens.genre_popularity (
    "genre" VARCHAR(256) NOT NULL,
    "n_ratings" BIGINT NOT NULL,
    "n_users" BIGINT NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "mean_rating" DOUBLE PRECISION NOT NULL,
    "share_of_ratings" DOUBLE PRECISION NOT NULL,
    PRIMARY KEY ("genre")
)
DISTSTYLE ALL
SORTKEY ("genre");

DROP TABLE IF EXISTS movielens.box_office_by_month;

CREATE TABLE movielens.box_office_by_month (
    "month" INTEGER NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "total_revenue" BIGINT NOT NULL,
    "mean_revenue" DOUBLE PRECISION NOT NULL,
    "median_revenue" DOUBLE PRECISION NOT NULL,
    PRIMARY KEY ("month")
)
DISTSTYLE ALL
SORTKEY ("month");

DROP TABLE IF EXISTS movielens.box_office_by_quarter;

CREATE TABLE movielens.box_office_by_quarter (
    "quarter" INTEGER NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "total_revenue" BIGINT NOT NULL,
    "mean_revenue" DOUBLE PRECISION NOT NULL,
    "median_revenue" DOUBLE PRECISION NOT NULL,
    PRIMARY KEY ("quarter")
)
DISTSTYLE ALL
SORTKEY ("quarter");

DROP TABLE IF EXISTS movielens.genre_earnings_real;

CREATE TABLE movielens.genre_earnings_real (
    "genre" VARCHAR(256) NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "revenue_nominal" BIGINT NOT NULL,
    "revenue_real" DOUBLE PRECISION NOT NULL,
    PRIMARY KEY ("genre")
)
DISTSTYLE ALL
SORTKEY ("genre");

DROP TABLE IF EXISTS movielens.cpi_window;

CREATE TABLE movielens.cpi_window (
    "cpi_base_month" DATE NOT NULL,
    "base_cpi" DOUBLE PRECISION NOT NULL,
    "movies_before_cpi_window" BIGINT NOT NULL,
    "movies_without_cpi_value" BIGINT NOT NULL,
    "movies_deflated" BIGINT NOT NULL,
    PRIMARY KEY ("cpi_base_month")
)
DISTSTYLE ALL
SORTKEY ("cpi_base_month");

DELETE FROM movielens.schema_version;

INSERT INTO movielens.schema_version (version) VALUES (2);

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

CREATE TEMP TABLE stage_movie_genre (
    "tmdb_id" BIGINT,
    "genre" VARCHAR(65535)
);

COPY stage_movie_genre FROM 's3://lake/p/curated/runs/r1/_redshift/movie_genre.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.movie_genre;

INSERT INTO movielens.movie_genre ("tmdb_id", "genre")
SELECT "tmdb_id", "genre" FROM stage_movie_genre;

DROP TABLE stage_movie_genre;

CREATE TEMP TABLE stage_dim_genre (
    "genre" VARCHAR(65535),
    "tmdb_genre_id" BIGINT,
    "n_movies" BIGINT
);

COPY stage_dim_genre FROM 's3://lake/p/curated/runs/r1/_redshift/dim_genre.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.dim_genre;

INSERT INTO movielens.dim_genre ("genre", "tmdb_genre_id", "n_movies")
SELECT "genre", "tmdb_genre_id", "n_movies" FROM stage_dim_genre;

DROP TABLE stage_dim_genre;

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

CREATE TEMP TABLE stage_ratings_by_movielens_id (
    "movielens_id" BIGINT,
    "tmdb_id" BIGINT,
    "outcome" VARCHAR(65535),
    "n_ratings" BIGINT,
    "sum_rating" DOUBLE PRECISION,
    "n_invalid" BIGINT
);

COPY stage_ratings_by_movielens_id FROM 's3://lake/p/curated/runs/r1/_redshift/ratings_by_movielens_id.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.ratings_by_movielens_id;

INSERT INTO movielens.ratings_by_movielens_id ("movielens_id", "tmdb_id", "outcome", "n_ratings", "sum_rating", "n_invalid")
SELECT "movielens_id", "tmdb_id", "outcome", "n_ratings", "sum_rating", "n_invalid" FROM stage_ratings_by_movielens_id;

DROP TABLE stage_ratings_by_movielens_id;

CREATE TEMP TABLE stage_rating_mapping (
    "outcome" VARCHAR(65535),
    "n_ratings" BIGINT,
    "n_movielens_ids" BIGINT
);

COPY stage_rating_mapping FROM 's3://lake/p/curated/runs/r1/_redshift/rating_mapping.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.rating_mapping;

INSERT INTO movielens.rating_mapping ("outcome", "n_ratings", "n_movielens_ids")
SELECT "outcome", "n_ratings", "n_movielens_ids" FROM stage_rating_mapping;

DROP TABLE stage_rating_mapping;

CREATE TEMP TABLE stage_dim_cpi (
    "month" DATE,
    "year" INTEGER,
    "month_of_year" INTEGER,
    "cpi" DOUBLE PRECISION,
    "series_id" VARCHAR(65535)
);

COPY stage_dim_cpi FROM 's3://lake/p/curated/runs/r1/_redshift/dim_cpi.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.dim_cpi;

INSERT INTO movielens.dim_cpi ("month", "year", "month_of_year", "cpi", "series_id")
SELECT "month", "year", "month_of_year", "cpi", "series_id" FROM stage_dim_cpi;

DROP TABLE stage_dim_cpi;

CREATE TEMP TABLE stage_dim_date (
    "date_key" DATE,
    "year" INTEGER,
    "quarter" INTEGER,
    "month" INTEGER,
    "day_of_month" INTEGER,
    "iso_day_of_week" INTEGER,
    "month_start" DATE
);

COPY stage_dim_date FROM 's3://lake/p/curated/runs/r1/_redshift/dim_date.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.dim_date;

INSERT INTO movielens.dim_date ("date_key", "year", "quarter", "month", "day_of_month", "iso_day_of_week", "month_start")
SELECT "date_key", "year", "quarter", "month", "day_of_month", "iso_day_of_week", "month_start" FROM stage_dim_date;

DROP TABLE stage_dim_date;

CREATE TEMP TABLE stage_highest_rated (
    "rank" BIGINT,
    "tmdb_id" BIGINT,
    "title" VARCHAR(65535),
    "release_year" INTEGER,
    "n_ratings" BIGINT,
    "mean_rating" DOUBLE PRECISION,
    "weighted_rating" DOUBLE PRECISION,
    "global_mean_rating" DOUBLE PRECISION,
    "min_ratings" DOUBLE PRECISION,
    "rated_ratings" BIGINT
);

COPY stage_highest_rated FROM 's3://lake/p/curated/runs/r1/_redshift/highest_rated.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.highest_rated;

INSERT INTO movielens.highest_rated ("rank", "tmdb_id", "title", "release_year", "n_ratings", "mean_rating", "weighted_rating", "global_mean_rating", "min_ratings", "rated_ratings")
SELECT "rank", "tmdb_id", "title", "release_year", "n_ratings", "mean_rating", "weighted_rating", "global_mean_rating", "min_ratings", "rated_ratings" FROM stage_highest_rated;

DROP TABLE stage_highest_rated;

CREATE TEMP TABLE stage_genre_popularity (
    "genre" VARCHAR(65535),
    "n_ratings" BIGINT,
    "n_users" BIGINT,
    "n_movies" BIGINT,
    "mean_rating" DOUBLE PRECISION,
    "share_of_ratings" DOUBLE PRECISION
);

COPY stage_genre_popularity FROM 's3://lake/p/curated/runs/r1/_redshift/genre_popularity.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.genre_popularity;

INSERT INTO movielens.genre_popularity ("genre", "n_ratings", "n_users", "n_movies", "mean_rating", "share_of_ratings")
SELECT "genre", "n_ratings", "n_users", "n_movies", "mean_rating", "share_of_ratings" FROM stage_genre_popularity;

DROP TABLE stage_genre_popularity;

CREATE TEMP TABLE stage_box_office_by_month (
    "month" INTEGER,
    "n_movies" BIGINT,
    "total_revenue" BIGINT,
    "mean_revenue" DOUBLE PRECISION,
    "median_revenue" DOUBLE PRECISION
);

COPY stage_box_office_by_month FROM 's3://lake/p/curated/runs/r1/_redshift/box_office_by_month.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.box_office_by_month;

INSERT INTO movielens.box_office_by_month ("month", "n_movies", "total_revenue", "mean_revenue", "median_revenue")
SELECT "month", "n_movies", "total_revenue", "mean_revenue", "median_revenue" FROM stage_box_office_by_month;

DROP TABLE stage_box_office_by_month;

CREATE TEMP TABLE stage_box_office_by_quarter (
    "quarter" INTEGER,
    "n_movies" BIGINT,
    "total_revenue" BIGINT,
    "mean_revenue" DOUBLE PRECISION,
    "median_revenue" DOUBLE PRECISION
);

COPY stage_box_office_by_quarter FROM 's3://lake/p/curated/runs/r1/_redshift/box_office_by_quarter.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.box_office_by_quarter;

INSERT INTO movielens.box_office_by_quarter ("quarter", "n_movies", "total_revenue", "mean_revenue", "median_revenue")
SELECT "quarter", "n_movies", "total_revenue", "mean_revenue", "median_revenue" FROM stage_box_office_by_quarter;

DROP TABLE stage_box_office_by_quarter;

CREATE TEMP TABLE stage_genre_earnings_real (
    "genre" VARCHAR(65535),
    "n_movies" BIGINT,
    "revenue_nominal" BIGINT,
    "revenue_real" DOUBLE PRECISION
);

COPY stage_genre_earnings_real FROM 's3://lake/p/curated/runs/r1/_redshift/genre_earnings_real.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.genre_earnings_real;

INSERT INTO movielens.genre_earnings_real ("genre", "n_movies", "revenue_nominal", "revenue_real")
SELECT "genre", "n_movies", "revenue_nominal", "revenue_real" FROM stage_genre_earnings_real;

DROP TABLE stage_genre_earnings_real;

CREATE TEMP TABLE stage_cpi_window (
    "cpi_base_month" DATE,
    "base_cpi" DOUBLE PRECISION,
    "movies_before_cpi_window" BIGINT,
    "movies_without_cpi_value" BIGINT,
    "movies_deflated" BIGINT
);

COPY stage_cpi_window FROM 's3://lake/p/curated/runs/r1/_redshift/cpi_window.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/movielens-redshift-copy' FORMAT AS PARQUET MANIFEST;

DELETE FROM movielens.cpi_window;

INSERT INTO movielens.cpi_window ("cpi_base_month", "base_cpi", "movies_before_cpi_window", "movies_without_cpi_value", "movies_deflated")
SELECT "cpi_base_month", "base_cpi", "movies_before_cpi_window", "movies_without_cpi_value", "movies_deflated" FROM stage_cpi_window;

DROP TABLE stage_cpi_window;

INSERT INTO movielens.loads (run_id, staging_run, schema_version, loaded_at, rows_loaded, seconds) VALUES ('r1', 'r1', 2, TIMESTAMP '2026-12-01 00:00:00', 123, 4.500);

COMMIT;
