"""DynamoDB and S3 adapters: they map stored items <-> domain records."""
