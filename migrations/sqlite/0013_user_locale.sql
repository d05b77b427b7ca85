-- The language the person reads (a locale's tag, `zh-CN`, `en`), set when
-- they register and when they switch languages signed in: mail and SMS
-- notices sent to them later are worded in it. Empty: the default.
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
