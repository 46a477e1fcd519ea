-- Undo 20240226_create_notifications.sql (undelivered notices are lost).
DROP TABLE notifications;
DROP TYPE notification_channel;
