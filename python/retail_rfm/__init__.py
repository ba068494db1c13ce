"""Load the UCI Online Retail invoice lines into a raw Parquet table.

The loader reads the dataset as delivered (the UCI zip, an .xlsx export, or a
CSV / gzip'd CSV), checks every value against the contract the dbt staging
model relies on, and writes one Parquet file that Spark registers as the raw
table. dbt does everything after that.

Entry point: ``python -m retail_rfm load`` (see ``retail_rfm.cli``).
"""
