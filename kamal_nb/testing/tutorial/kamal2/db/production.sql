-- Run once, on the db accessory's first start (/docker-entrypoint-initdb.d/setup.sql)
CREATE DATABASE IF NOT EXISTS tutorial_production;
USE tutorial_production;
CREATE TABLE counters (name VARCHAR(32) PRIMARY KEY, value BIGINT NOT NULL DEFAULT 0);
INSERT INTO counters (name, value) VALUES ('visits', 0), ('jobs', 0);
-- one row per run of this file: the tests check that it ran exactly once
CREATE TABLE setup_runs (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
INSERT INTO setup_runs () VALUES ();
