import os

DB_URL = "postgres://app:cb4gRrKLq5kljA!9@db.internal:5432/app"
API_KEY = os.environ["API_KEY"]
