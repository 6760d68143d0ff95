CREATE SCHEMA IF NOT EXISTS movielens;

CREATE TABLE IF NOT EXISTS movielens.schema_version (version INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS movielens.loads (
    run_id VARCHAR(128) NOT NULL,
    staging_run VARCHAR(128),
    schema_version INTEGER NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    rows_loaded BIGINT NOT NULL,
    seconds DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS movielens.dim_movie (
    "tmdb_id" BIGINT NOT NULL,
    "imdb_id" TEXT,
    "title" TEXT NOT NULL,
    "original_title" TEXT NOT NULL,
    "original_language" TEXT,
    "adult" BOOLEAN NOT NULL,
    "status" TEXT,
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

ALTER TABLE movielens.dim_movie ADD PRIMARY KEY ("tmdb_id");

CREATE TABLE IF NOT EXISTS movielens.movie_genre (
    "tmdb_id" BIGINT NOT NULL,
    "genre" TEXT NOT NULL
);

ALTER TABLE movielens.movie_genre ADD PRIMARY KEY ("tmdb_id", "genre");

CREATE INDEX ON movielens.movie_genre ("genre");

CREATE TABLE IF NOT EXISTS movielens.dim_genre (
    "genre" TEXT NOT NULL,
    "tmdb_genre_id" BIGINT,
    "n_movies" BIGINT NOT NULL
);

ALTER TABLE movielens.dim_genre ADD PRIMARY KEY ("genre");

CREATE TABLE IF NOT EXISTS movielens.fact_rating (
    "user_id" BIGINT NOT NULL,
    "tmdb_id" BIGINT NOT NULL,
    "movielens_id" BIGINT NOT NULL,
    "rating" NUMERIC(2,1) NOT NULL,
    "rated_at" TIMESTAMP NOT NULL
);

CREATE INDEX ON movielens.fact_rating ("tmdb_id");

CREATE TABLE IF NOT EXISTS movielens.ratings_by_movielens_id (
    "movielens_id" BIGINT,
    "tmdb_id" BIGINT,
    "outcome" TEXT NOT NULL,
    "n_ratings" BIGINT NOT NULL,
    "sum_rating" DOUBLE PRECISION NOT NULL,
    "n_invalid" BIGINT NOT NULL
);

CREATE INDEX ON movielens.ratings_by_movielens_id ("tmdb_id");

CREATE TABLE IF NOT EXISTS movielens.rating_mapping (
    "outcome" TEXT NOT NULL,
    "n_ratings" BIGINT NOT NULL,
    "n_movielens_ids" BIGINT NOT NULL
);

ALTER TABLE movielens.rating_mapping ADD PRIMARY KEY ("outcome");

CREATE TABLE IF NOT EXISTS movielens.dim_cpi (
    "month" DATE NOT NULL,
    "year" INTEGER NOT NULL,
    "month_of_year" INTEGER NOT NULL,
    "cpi" DOUBLE PRECISION,
    "series_id" TEXT NOT NULL
);

ALTER TABLE movielens.dim_cpi ADD PRIMARY KEY ("month");

CREATE TABLE IF NOT EXISTS movielens.dim_date (
    "date_key" DATE NOT NULL,
    "year" INTEGER NOT NULL,
    "quarter" INTEGER NOT NULL,
    "month" INTEGER NOT NULL,
    "day_of_month" INTEGER NOT NULL,
    "iso_day_of_week" INTEGER NOT NULL,
    "month_start" DATE NOT NULL
);

ALTER TABLE movielens.dim_date ADD PRIMARY KEY ("date_key");

CREATE TABLE IF NOT EXISTS movielens.highest_rated (
    "rank" BIGINT NOT NULL,
    "tmdb_id" BIGINT NOT NULL,
    "title" TEXT NOT NULL,
    "release_year" INTEGER,
    "n_ratings" BIGINT NOT NULL,
    "mean_rating" DOUBLE PRECISION NOT NULL,
    "weighted_rating" DOUBLE PRECISION NOT NULL,
    "global_mean_rating" DOUBLE PRECISION NOT NULL,
    "min_ratings" DOUBLE PRECISION NOT NULL,
    "rated_ratings" BIGINT NOT NULL
);

ALTER TABLE movielens.highest_rated ADD PRIMARY KEY ("rank");

CREATE TABLE IF NOT EXISTS movielens.genre_popularity (
    "genre" TEXT NOT NULL,
    "n_ratings" BIGINT NOT NULL,
    "n_users" BIGINT NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "mean_rating" DOUBLE PRECISION NOT NULL,
    "share_of_ratings" DOUBLE PRECISION NOT NULL
);

ALTER TABLE movielens.genre_popularity ADD PRIMARY KEY ("genre");

CREATE TABLE IF NOT EXISTS movielens.box_office_by_month (
    "month" INTEGER NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "total_revenue" BIGINT NOT NULL,
    "mean_revenue" DOUBLE PRECISION NOT NULL,
    "median_revenue" DOUBLE PRECISION NOT NULL
);

ALTER TABLE movielens.box_office_by_month ADD PRIMARY KEY ("month");

CREATE TABLE IF NOT EXISTS movielens.box_office_by_quarter (
    "quarter" INTEGER NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "total_revenue" BIGINT NOT NULL,
    "mean_revenue" DOUBLE PRECISION NOT NULL,
    "median_revenue" DOUBLE PRECISION NOT NULL
);

ALTER TABLE movielens.box_office_by_quarter ADD PRIMARY KEY ("quarter");

CREATE TABLE IF NOT EXISTS movielens.genre_earnings_real (
    "genre" TEXT NOT NULL,
    "n_movies" BIGINT NOT NULL,
    "revenue_nominal" BIGINT NOT NULL,
    "revenue_real" DOUBLE PRECISION NOT NULL
);

ALTER TABLE movielens.genre_earnings_real ADD PRIMARY KEY ("genre");

CREATE TABLE IF NOT EXISTS movielens.cpi_window (
    "cpi_base_month" DATE NOT NULL,
    "base_cpi" DOUBLE PRECISION NOT NULL,
    "movies_before_cpi_window" BIGINT NOT NULL,
    "movies_without_cpi_value" BIGINT NOT NULL,
    "movies_deflated" BIGINT NOT NULL
);

ALTER TABLE movielens.cpi_window ADD PRIMARY KEY ("cpi_base_month");
