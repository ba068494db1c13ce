"""Customer clusters: k-means on recency, frequency and monetary value.

One row per customer of customer_rfm with the cluster k-means puts it in, on
Spark (pyspark.ml), and a label read off the cluster's centre.

Features, in this order:
- recency: log(1 + recency_days); a negative recency (an as-of date set before
  the customer's last purchase) counts as 0 days;
- frequency: log(1 + purchase invoices);
- monetary: log(1 + net revenue), net revenue floored at 0 first: a customer
  whose cancellations reverse at least what they bought in the data (22 on
  the full data) has spent nothing here, and log needs a positive argument.
All three are right-skewed (a few customers buy far more, far more often,
than the rest), hence the log. Each is then standardised (mean 0, standard
deviation 1 over the customers being clustered), so that none weighs more
just for its unit.

Extreme customers are those whose frequency or monetary feature lies above
the quantile `cluster_outlier_quantile` (0.99 by default). Recency is
bounded by the data's one year and has no such tail. `cluster_outlier_policy`
decides what happens to them (the default and why: docs/python-models.md):
- keep: clustered like everyone else;
- cap: their frequency and monetary features are lowered to the quantile
  (winsorised) before standardising and clustering;
- separate: set apart as their own group, cluster_id 0, and not clustered.

k: `cluster_k` when set, else the k in [cluster_k_min, cluster_k_max] with the
best silhouette (the smaller k on a tie). The seed is fixed and the rows are
put in a fixed order first, so a rerun gives the same clusters.

Cluster ids run from 1, the most valuable centre (recent, frequent, high
spend), to k. Labels describe a centre against the average customer: a
feature more than half a standard deviation above or below the mean gets the
word for high or low.

Settings arrive as strings through the model's config meta (dbt Python models have
no var(); _marts__models.yml passes each var through).
"""

import math
import time
from typing import NamedTuple

from pyspark.ml.clustering import KMeans
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import functions as fn

FEATURES = ("recency", "frequency", "monetary")
CAPPED_FEATURES = ("frequency", "monetary")
OUTLIER_POLICIES = ("keep", "cap", "separate")
SET_APART_ID = 0

# Rows are hash-partitioned on customer_id into this many partitions and
# sorted within them before k-means: its k-means|| start samples rows per
# partition, so the same customers give the same clusters whatever the
# layout of the input table or the target's shuffle settings.
PARTITIONS = 4

# A centre more than this many standard deviations from the mean gets the
# high or low word of that feature.
LABEL_THRESHOLD = 0.5
# (low, middle, high) words per feature; for recency a low value is recent.
LABEL_WORDS = {
    "recency": ("recent", "lapsing", "lapsed"),
    "frequency": ("infrequent", "occasional", "frequent"),
    "monetary": ("low spend", "mid spend", "high spend"),
}


class Settings(NamedTuple):
    k: int | None
    k_min: int
    k_max: int
    outlier_policy: str
    outlier_quantile: float
    seed: int
    max_iter: int


class Clustering(NamedTuple):
    k: int
    silhouette: float | None
    centres: list[list[float]]
    model: object | None


def _setting_int(name, value, minimum):
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"var {name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"var {name} must be at least {minimum}, got {number}")
    return number


def read_settings(dbt):
    raw = {
        "cluster_k": dbt.config.meta_get("cluster_k"),
        "cluster_k_min": dbt.config.meta_get("cluster_k_min"),
        "cluster_k_max": dbt.config.meta_get("cluster_k_max"),
        "cluster_outlier_policy": dbt.config.meta_get("cluster_outlier_policy"),
        "cluster_outlier_quantile": dbt.config.meta_get("cluster_outlier_quantile"),
        "cluster_seed": dbt.config.meta_get("cluster_seed"),
        "cluster_max_iter": dbt.config.meta_get("cluster_max_iter"),
    }
    missing = [name for name, value in raw.items() if value is None]
    if missing:
        raise ValueError(
            f"config meta {', '.join(missing)} not set: models/marts/"
            "_marts__models.yml passes each project var of the same name"
        )
    policy = str(raw["cluster_outlier_policy"]).strip()
    if policy not in OUTLIER_POLICIES:
        raise ValueError(
            f"var cluster_outlier_policy must be one of {', '.join(OUTLIER_POLICIES)}"
            f", got {policy!r}"
        )
    try:
        quantile = float(raw["cluster_outlier_quantile"])
    except ValueError:
        quantile = math.nan
    if not 0.5 <= quantile < 1:
        raise ValueError(
            "var cluster_outlier_quantile must be at least 0.5 and below 1, got "
            f"{raw['cluster_outlier_quantile']!r}"
        )
    k_text = str(raw["cluster_k"]).strip()
    settings = Settings(
        k=_setting_int("cluster_k", k_text, 2) if k_text else None,
        k_min=_setting_int("cluster_k_min", raw["cluster_k_min"], 2),
        k_max=_setting_int("cluster_k_max", raw["cluster_k_max"], 2),
        outlier_policy=policy,
        outlier_quantile=quantile,
        seed=_setting_int("cluster_seed", raw["cluster_seed"], 0),
        max_iter=_setting_int("cluster_max_iter", raw["cluster_max_iter"], 1),
    )
    if settings.k is None and settings.k_max < settings.k_min:
        raise ValueError(
            f"var cluster_k_max ({settings.k_max}) is below cluster_k_min "
            f"({settings.k_min})"
        )
    return settings


def log_features(customers):
    return customers.select(
        fn.col("customer_id"),
        fn.log1p(fn.greatest(fn.col("recency_days").cast("double"), fn.lit(0.0)))
        .alias("recency"),
        fn.log1p(fn.col("frequency").cast("double")).alias("frequency"),
        fn.log1p(fn.greatest(fn.col("monetary").cast("double"), fn.lit(0.0)))
        .alias("monetary"),
    )  # fmt: skip


def upper_bounds(features, quantile):
    """The exact `quantile` of each capped feature (relative error 0: exact
    and order-independent, affordable for one row per customer)."""
    values = features.approxQuantile(list(CAPPED_FEATURES), [quantile], 0.0)
    return {name: found[0] for name, found in zip(CAPPED_FEATURES, values, strict=True)}


def flag_and_cap(features, bounds, policy):
    extreme = fn.lit(False)
    for name in CAPPED_FEATURES:
        extreme = extreme | (fn.col(name) > fn.lit(bounds[name]))
    flagged = features.withColumn("is_outlier", extreme)
    if policy == "cap":
        for name in CAPPED_FEATURES:
            flagged = flagged.withColumn(
                name, fn.least(fn.col(name), fn.lit(bounds[name]))
            )
    return flagged


def standardise(frame, train):
    """Add z_<feature> columns, scaled by the mean and (sample) standard
    deviation of `train`. A feature without spread gets a scale of 1."""
    aggregates = []
    for name in FEATURES:
        aggregates += [fn.mean(name).alias(f"mean_{name}"),
                       fn.stddev_samp(name).alias(f"sd_{name}")]  # fmt: skip
    stats = train.agg(*aggregates).first()
    columns = []
    for name in FEATURES:
        mean = stats[f"mean_{name}"]
        sd = stats[f"sd_{name}"]
        scale = sd if sd is not None and sd > 0 else 1.0
        columns.append(
            ((fn.col(name) - fn.lit(mean)) / fn.lit(scale)).alias(f"z_{name}")
        )
    return frame.select("*", *columns)


def candidate_ks(settings, distinct_points):
    """The k values to try. Silhouette needs k below the number of distinct
    points; on data too small for the range, fewer (or no) values remain."""
    if settings.k is not None:
        if settings.k >= distinct_points:
            raise ValueError(
                f"var cluster_k={settings.k} needs more than {settings.k} distinct "
                f"customers to cluster; there are {distinct_points}"
            )
        return [settings.k]
    return [k for k in range(settings.k_min, settings.k_max + 1) if k < distinct_points]


def fit_k(vectors, k, settings):
    started = time.monotonic()
    fitted = KMeans(
        k=k,
        seed=settings.seed,
        maxIter=settings.max_iter,
        featuresCol="features",
        predictionCol="cluster_index",
    ).fit(vectors)
    centres = [[float(value) for value in centre] for centre in fitted.clusterCenters()]
    silhouette = None
    if len(centres) == k:
        silhouette = ClusteringEvaluator(
            featuresCol="features", predictionCol="cluster_index"
        ).evaluate(fitted.transform(vectors))
    print(
        f"k={k}: silhouette "
        + ("n/a (fewer centres than k)" if silhouette is None else f"{silhouette:.4f}")
        + f", {time.monotonic() - started:.1f} s"
    )
    return Clustering(k, silhouette, centres, fitted)


def choose(clusterings):
    """The best silhouette; the smaller k on a tie (the list runs up in k)."""
    scored = [c for c in clusterings if c.silhouette is not None]
    if not scored:
        raise ValueError("no k gave as many clusters as asked: the data is too small")
    best = scored[0]
    for clustering in scored[1:]:
        if clustering.silhouette > best.silhouette:
            best = clustering
    return best


def describe(centre):
    """Words for a centre given as z-scores, e.g. 'recent, frequent, high spend'."""
    words = []
    for name, value in zip(FEATURES, centre, strict=True):
        low, middle, high = LABEL_WORDS[name]
        if value <= -LABEL_THRESHOLD:
            words.append(low)
        elif value >= LABEL_THRESHOLD:
            words.append(high)
        else:
            words.append(middle)
    return ", ".join(words)


def value_rank(centre):
    """Higher for a more valuable centre: recent, frequent, high spend."""
    recency, frequency, monetary = centre
    return -recency + frequency + monetary


def name_clusters(centres):
    """(cluster_id, label) per k-means index: ids by descending value from 1;
    a label shared by two centres gets a number after it."""
    order = sorted(range(len(centres)), key=lambda i: (-value_rank(centres[i]), i))
    names = {}
    seen = {}
    for position, index in enumerate(order, start=1):
        label = describe(centres[index])
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} ({seen[label]})"
        names[index] = (position, label)
    return names


def pick(index_column, values, cast):
    expression = None
    for index, value in values.items():
        branch = fn.lit(value).cast(cast)
        expression = (
            fn.when(index_column == index, branch)
            if expression is None
            else expression.when(index_column == index, branch)
        )
    return expression


def distance_to(centre_columns):
    return fn.sqrt(
        sum(
            (fn.col(f"z_{name}") - centre) * (fn.col(f"z_{name}") - centre)
            for name, centre in zip(FEATURES, centre_columns, strict=True)
        )
    )


def assign(predicted, clustering):
    """cluster_id, cluster_label and distance_to_centre from the k-means
    index of each row."""
    names = name_clusters(clustering.centres)
    index = fn.col("cluster_index")
    centre = [
        pick(index, {i: c[j] for i, c in enumerate(clustering.centres)}, "double")
        for j in range(len(FEATURES))
    ]
    return predicted.select(
        "*",
        pick(index, {i: n[0] for i, n in names.items()}, "int").alias("cluster_id"),
        pick(index, {i: n[1] for i, n in names.items()}, "string").alias(
            "cluster_label"
        ),
        distance_to(centre).alias("distance_to_centre"),
    )


def set_apart(extreme):
    """The extreme customers as cluster 0, labelled by their mean."""
    means = extreme.agg(*[fn.mean(f"z_{name}") for name in FEATURES]).first()
    centre = [0.0 if value is None else float(value) for value in means]
    return extreme.select(
        "*",
        fn.lit(SET_APART_ID).alias("cluster_id"),
        fn.lit(f"set apart: {describe(centre)}").alias("cluster_label"),
        distance_to(centre).alias("distance_to_centre"),
    )


def output(frame, settings, clustering):
    return frame.select(
        fn.col("customer_id").cast("bigint").alias("customer_id"),
        fn.col("cluster_id").cast("int").alias("cluster_id"),
        fn.col("cluster_label").cast("string").alias("cluster_label"),
        fn.col("is_outlier").cast("boolean").alias("is_outlier"),
        fn.col("distance_to_centre").cast("double").alias("distance_to_centre"),
        fn.lit(clustering.k).cast("int").alias("cluster_count"),
        fn.lit(clustering.silhouette).cast("double").alias("silhouette"),
        fn.lit(settings.outlier_policy).alias("outlier_policy"),
    )


def model(dbt, session):
    dbt.config(materialized="table")
    settings = read_settings(dbt)
    started = time.monotonic()

    customers = dbt.ref("customer_rfm").select(
        "customer_id", "recency_days", "frequency", "monetary"
    )
    features = (
        log_features(customers)
        .repartition(PARTITIONS, "customer_id")
        .sortWithinPartitions("customer_id")
        .cache()
    )
    bounds = upper_bounds(features, settings.outlier_quantile)
    flagged = flag_and_cap(features, bounds, settings.outlier_policy)
    separate = settings.outlier_policy == "separate"
    clustered_rows = ~fn.col("is_outlier") if separate else fn.lit(True)
    scored = standardise(flagged, train=flagged.where(clustered_rows))
    vectors = (
        VectorAssembler(
            inputCols=[f"z_{name}" for name in FEATURES], outputCol="features"
        )
        .transform(scored.where(clustered_rows))
        .cache()
    )
    # One pass for the counts: all customers, the extreme ones, and the
    # distinct feature points among those to be clustered.
    counts = scored.agg(
        fn.count(fn.lit(1)).alias("customers"),
        fn.count_if(fn.col("is_outlier")).alias("extreme"),
        fn.count_distinct(
            fn.when(clustered_rows, fn.struct(*[f"z_{name}" for name in FEATURES]))
        ).alias("points"),
    ).first()
    print(
        f"{counts['customers']:,} customers, {counts['extreme']:,} extreme "
        f"(frequency above {math.expm1(bounds['frequency']):,.0f} invoices or "
        f"net revenue above {math.expm1(bounds['monetary']):,.2f}), outlier "
        f"policy {settings.outlier_policy}; features in "
        f"{time.monotonic() - started:.1f} s"
    )

    ks = candidate_ks(settings, counts["points"])
    if ks:
        clustering = choose([fit_k(vectors, k, settings) for k in ks])
        clustered = assign(clustering.model.transform(vectors), clustering)
        tried = "" if settings.k is not None else f" (tried k={ks[0]}..{ks[-1]})"
        print(f"chosen k={clustering.k}, silhouette {clustering.silhouette:.4f}{tried}")
    else:
        # Too few distinct customers for the range: one group, no silhouette.
        clustering = Clustering(1, None, [[0.0, 0.0, 0.0]], None)
        clustered = vectors.select(
            "*",
            fn.lit(1).alias("cluster_id"),
            fn.lit("all customers (too few to cluster)").alias("cluster_label"),
            distance_to([0.0, 0.0, 0.0]).alias("distance_to_centre"),
        )
        print(
            f"only {counts['points']} distinct customers: too few for "
            f"k={settings.k_min}..{settings.k_max}; all in one cluster"
        )
    result = output(clustered, settings, clustering)
    if separate:
        result = result.unionByName(
            output(set_apart(scored.where(fn.col("is_outlier"))), settings, clustering)
        )

    # Compute the result once, then release the cached inputs.
    result = result.localCheckpoint(eager=True)
    vectors.unpersist()
    features.unpersist()
    sizes = result.groupBy("cluster_id", "cluster_label").count().orderBy("cluster_id")
    for row in sizes.collect():
        print(f"cluster {row[0]}: {row[1]}, {row[2]:,} customers")
    print(f"clustered in {time.monotonic() - started:.1f} s")
    return result
