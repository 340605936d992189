-- Cron prunes the audit log by age: with this index it reads only the rows it deletes
-- (none on most runs), not the table.
CREATE INDEX audit_log_at ON audit_log (at);
