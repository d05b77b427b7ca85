-- A notice written in the transaction of the change it reports: its record
-- carries the job (JSON) until the job is in the queue, so that a queue
-- away at the commit loses nothing; the relay queues what is left here.
ALTER TABLE deliveries ADD COLUMN payload TEXT;
CREATE INDEX deliveries_unqueued ON deliveries (created_at) WHERE payload IS NOT NULL;
