"""Clusters: k-means over per-customer features, each cluster described in words, as traits.

    >>> result = run_clusters(ws, as_of=datetime(2026, 11, 1, tzinfo=UTC))   # doctest: +SKIP
    >>> result.k, result.clusters[0]["description"]                           # doctest: +SKIP
    (4, 'high coupon use, low order value → price-sensitive')

Who is clustered: the **buyers** — profiles that exist at ``as_of`` (``created_at``
missing or ``<= as_of``) with a paid order up to ``as_of`` (a missing status is
``paid``), as in RFM. Everyone else gets NULL in both traits: a profile that never
bought has no order value to compare, and forcing it into a cluster would make
"never bought" the strongest signal of every run.

The steps, each a function below:

1. **features** (:mod:`segflow.models.cluster_features`): one warehouse query
   gives every buyer's values of the chosen features — built-in aggregates computed over
   the orders, order items and events up to ``as_of`` (:data:`BUILTIN`), and/or columns
   of the ``traits`` table and numeric profile attributes, read as stored.
2. **standardise** (:func:`standardise`): ``log1p`` for the skewed counts and amounts
   (the built-ins marked so; ``{name: x, log: true}`` for any other), then z-scores over
   the buyers, clipped to ``±clip`` (5) so a handful of extreme customers cannot pull a
   centre of their own. A feature with the same value for every buyer is an error.
3. **choose k** (:func:`choose_k`): KMeans (``n_init`` starts, seeded) on a seeded random
   sample of ``sample`` buyers (5,000) for each k in ``k_range``; the k with the highest
   silhouette on that sample wins (ties: the smaller k). A fixed ``k`` skips the search.
   Silhouette is quadratic in rows, hence the sample.
4. **fit** (:func:`fit_clusters`): the chosen algorithm on every buyer, started from the
   sample fit's centres — ``KMeans`` up to ``minibatch_from`` rows (500,000), else
   ``MiniBatchKMeans`` (``algorithm: auto``). With ``compare`` (the default) the other
   algorithm is fitted too, from the same centres, and both are scored on the same
   sample, so the price of the faster one is a number, not a guess.
5. **describe** (:func:`describe_clusters`): clusters are numbered 1..k by size (largest
   first; ties by centre), so the same data and seed give the same ids. For each, the
   centre's z-score on every feature says how it differs from the buyers as a whole;
   ``|z| >= 0.5`` is "high"/"low" (``>= 1`` "very high"/"very low"), the strongest
   deviations make the description, and the first matching rule of :data:`PERSONAS`
   names it (``high coupon use, low order value → price-sensitive``). The numbers behind
   the words — centre and population mean in original units, and z — are in the result.

Traits written (owner ``model:clusters``): ``cluster`` (integer 1..k) and
``cluster_label`` (the persona). Everything is computed before anything is written: an
error leaves the previous ``cluster`` traits as they were.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from segflow.clock import at_or_now
from segflow.errors import ModelError
from segflow.models.cluster_features import (
    BUILTIN,
    DEFAULT_FEATURES,
    Feature,
    features_sql,
    field_error,
    has_rows,
    resolve_features,
    timestamp_sql,
)
from segflow.models.registry import ModelKind, register_model
from segflow.schema.types import AttributeType as T

if TYPE_CHECKING:
    import numpy as np

    from segflow.context import ProjectContext

__all__ = ["BUILTIN", "OUTPUTS", "OWNER", "PERSONAS", "ClustersConfig", "ClustersResult", "Feature", "FeatureSpec",
           "Fit",
           "choose_k", "cluster_values", "describe_centre", "features_sql", "load_clusters_config", "resolve_features",
           "run_clusters", "standardise"]

OWNER = "model:clusters"
OUTPUTS: dict[str, T] = {"cluster": T.INTEGER, "cluster_label": T.STRING}
_TABLE = "_segflow_clusters"
#: Largest k anyone may ask for.
MAX_K = 50
#: |z| of a centre that is "high" / "low", and "very high" / "very low".
HIGH, VERY = 0.5, 1.0
#: MiniBatchKMeans batch: 1024 (scikit-learn's default) took 1.9-37 s at 1M × 8 on two busy
#: cores against 1.3-1.4 s for 16384, whose quality is the same on a sample.
_BATCH = 16_384
#: Below this many rows scikit-learn runs on one thread: its OpenMP threads spin-wait for each
#: other, and on two busy cores KMeans(n_init=4) of 860 × 8 rows took 0.2-2.4 s on all threads
#: against 0.01 s on one (silhouette 0.02-0.06 s against 0.015 s).
_ONE_THREAD_BELOW = 100_000


#: Personas, first match wins: (name, {feature: +1 high / -1 low}). A rule applies only when
#: the config has all its features. Two-feature rules come first, being more specific.
PERSONAS: list[tuple[str, dict[str, int]]] = [
    ("lapsed big spenders", {"days_since_last_order": 1, "total_spend": 1}),
    ("loyal big spenders", {"orders": 1, "total_spend": 1}),
    ("price-sensitive", {"coupon_rate": 1, "avg_order_value": -1}),
    ("premium occasional buyers", {"avg_order_value": 1, "orders": -1}),
    ("window shoppers", {"events": 1, "orders": -1}),
    ("new customers", {"tenure_days": -1, "orders": -1}),
    ("one-off low spenders", {"orders": -1, "total_spend": -1}),
    ("lapsed", {"days_since_last_order": 1}),
    ("deal seekers", {"coupon_rate": 1}),
    ("returners", {"refund_rate": 1}),
    ("big spenders", {"total_spend": 1}),
    ("frequent buyers", {"orders": 1}),
    ("premium buyers", {"avg_order_value": 1}),
    ("variety seekers", {"category_diversity": 1}),
    ("night owls", {"night_share": 1}),
    ("highly engaged", {"events": 1}),
    ("recent buyers", {"days_since_last_order": -1}),
    ("occasional buyers", {"orders": -1}),
    ("new customers", {"tenure_days": -1}),
    ("low spenders", {"total_spend": -1}),
]
TYPICAL = "typical customers"


# -- the config --------------------------------------------------------------------------------

class FeatureSpec(BaseModel):
    """One feature: a built-in aggregate, ``trait:<name>``, ``attribute:<name>``, or a bare
    name (built-in, else a trait, else a profile attribute); *log*: apply ``log1p`` (default:
    the built-in's choice, no for the others)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    log: bool | None = None


class ClustersConfig(BaseModel):
    """What ``models/clusters.yaml`` (or a ``--config FILE``) may set; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Features (names or ``{name, log}``); None: :data:`DEFAULT_FEATURES` the project has data for.
    features: tuple[FeatureSpec, ...] | None = None
    #: A fixed number of clusters; None: chosen by silhouette within ``k_range``.
    k: int | None = None
    k_range: tuple[int, int] = (2, 8)
    seed: int = 0
    #: Buyers in the sample that k is chosen on and both algorithms are scored on.
    sample: int = 5000
    algorithm: Literal["auto", "kmeans", "minibatch"] = "auto"
    #: auto: MiniBatchKMeans from this many buyers on.
    minibatch_from: int = 500_000
    #: Also fit the other algorithm and report both silhouettes.
    compare: bool = True
    #: KMeans starts on the sample.
    n_init: int = 4
    #: Clip z-scores to ±clip (None: never).
    clip: float | None = 5.0
    #: A buyer with a missing trait or attribute value: not clustered (skip), 0, or the mean.
    missing: Literal["skip", "zero", "mean"] = "skip"
    #: coupon_rate: the event that marks an order paid with a coupon ...
    coupon_event: str = "coupon_redeemed"
    #: ... or, when set, a column of orders that is filled (not empty, false or 0) for one.
    coupon_column: str | None = None

    @field_validator("features", mode="before")
    @classmethod
    def _features(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, list | tuple) or not v:
            raise ValueError("give a list of at least one feature")
        return [{"name": f} if isinstance(f, str) else f for f in v]

    @field_validator("features")
    @classmethod
    def _distinct(cls, v: tuple[FeatureSpec, ...] | None) -> tuple[FeatureSpec, ...] | None:
        seen: set[str] = set()
        for f in v or ():
            if not f.name.strip():
                raise ValueError("a feature name is empty")
            if f.name in seen:
                raise ValueError(f"{f.name!r} is listed twice")
            seen.add(f.name)
        return v

    @field_validator("k")
    @classmethod
    def _k(cls, v: int | None) -> int | None:
        if v is not None and not 2 <= v <= MAX_K:
            raise ValueError(f"need 2 <= k <= {MAX_K}, got {v}")
        return v

    @field_validator("k_range")
    @classmethod
    def _k_range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 2 <= v[0] <= v[1] <= MAX_K:
            raise ValueError(f"need 2 <= first <= second <= {MAX_K}, got [{v[0]}, {v[1]}]")
        return v

    @field_validator("sample")
    @classmethod
    def _sample(cls, v: int) -> int:
        if not 100 <= v <= 100_000:
            raise ValueError(f"need 100 <= sample <= 100000, got {v}")
        return v

    @field_validator("minibatch_from", "n_init")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"need at least 1, got {v}")
        return v

    @field_validator("clip")
    @classmethod
    def _clip(cls, v: float | None) -> float | None:
        if v is not None and v <= 0:
            raise ValueError(f"need a positive number or null, got {v:g}")
        return v

    def fingerprint(self) -> str:
        from segflow.models.config import config_fingerprint

        return config_fingerprint(self)


def load_clusters_config(path: Path | None = None, *, root: Path | None = None,
                         overrides: dict[str, Any] | None = None) -> tuple[ClustersConfig, str | None]:
    """The config in *path*, else ``<root>/models/clusters.yaml`` when it exists, else the
    defaults, with the non-None *overrides* on top. Returns it and the file it came from.
    ModelError naming the file and field (``features[2].log``) for a config that cannot be
    used (:mod:`segflow.models.config`); the feature names are checked against the project
    by :func:`run_clusters`."""
    from segflow.models.config import load_model_config

    return load_model_config("clusters", ClustersConfig, path, root=root, overrides=overrides)


# -- 2. standardise ----------------------------------------------------------------------------

def standardise(values: np.ndarray, logs: list[bool], clip: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-scores of the columns of *values* (rows × features): ``log1p`` first where *logs*
    says so (negative values are clipped to 0 for it), then ``(x - mean) / std`` (population
    std), clipped to ``±clip``. Returns the z-scores and the transformed columns' means and
    standard deviations. A column with std 0 gets z 0 (the caller refuses it first)."""
    import numpy as np

    x = np.array(values, dtype=float, copy=True)
    for j, log in enumerate(logs):
        if log:
            x[:, j] = np.log1p(np.clip(x[:, j], 0.0, None))
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    z = np.divide(x - mean, std, out=np.zeros_like(x), where=std > 0)
    if clip is not None:
        np.clip(z, -clip, clip, out=z)
    return z, mean, std


# -- 3. choose k -------------------------------------------------------------------------------

def _threads(rows: int) -> Any:
    """A context that keeps scikit-learn on one thread for *rows* under :data:`_ONE_THREAD_BELOW`."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1) if rows < _ONE_THREAD_BELOW else nullcontext()


def _silhouette(z: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import silhouette_score

    if len(set(labels.tolist())) < 2:
        return -1.0
    with _threads(len(z)):
        return float(silhouette_score(z, labels))


def choose_k(sample: np.ndarray, ks: list[int], *, seed: int, n_init: int) -> tuple[int, dict[int, float],
                                                                                    dict[int, np.ndarray]]:
    """KMeans on *sample* for each k in *ks*: the k with the highest silhouette (ties: the
    smaller), the silhouette of each, and each fit's centres."""
    from sklearn.cluster import KMeans

    scores: dict[int, float] = {}
    centres: dict[int, np.ndarray] = {}
    with _threads(len(sample)):
        for k in ks:
            model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(sample)
            centres[k] = model.cluster_centers_
            scores[k] = _silhouette(sample, model.labels_) if len(ks) > 1 else float("nan")
    best = ks[0] if len(ks) == 1 else max(ks, key=lambda k: (round(scores[k], 12), -k))
    return best, scores, centres


# -- 4. fit ------------------------------------------------------------------------------------

def _fit(z: np.ndarray, centres: np.ndarray, algorithm: str, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels, centres and seconds of *algorithm* on *z*, started from *centres*."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    started = time.perf_counter()
    k = len(centres)
    with _threads(len(z)):
        if algorithm == "kmeans":
            model: Any = KMeans(n_clusters=k, init=centres, n_init=1, random_state=seed).fit(z)
        else:
            model = MiniBatchKMeans(n_clusters=k, init=centres, n_init=1, batch_size=_BATCH,
                                    random_state=seed).fit(z)
    return model.labels_, model.cluster_centers_, time.perf_counter() - started


# -- 5. describe -------------------------------------------------------------------------------

#: Words that take "very": "very high spend", "very few orders"; "ordered recently" does not.
_INTENSIFIED = ("high", "low", "many", "few", "long", "big", "small", "new", "little")


def _word(z: float, high: str, low: str) -> str | None:
    if abs(z) < HIGH:
        return None
    phrase = high if z > 0 else low
    if abs(z) >= VERY and phrase.split(" ")[0] in _INTENSIFIED:
        phrase = f"very {phrase}"
    return phrase


def describe_centre(z: dict[str, float], features: list[Feature], *, top: int = 3) -> tuple[list[str], str]:
    """The words for a centre with z-scores *z* (feature → z) and its persona.

    The persona is the first rule of :data:`PERSONAS` whose features all deviate its way by
    ``|z| >= 0.5`` (else "customers with <the strongest word>", or :data:`TYPICAL` when no
    feature deviates). The words are those of the rule's features and of the strongest
    other deviations, at least *top* in all when there are that many, strongest first.
    """
    by_name = {f.name: f for f in features}
    ranked = sorted((f for f in features if abs(z[f.name]) >= HIGH), key=lambda f: (-abs(z[f.name]), f.name))
    rule = next(((name, r) for name, r in PERSONAS if all(
        n in by_name and by_name[n].source == "builtin" and z[n] * sign >= HIGH for n, sign in r.items())), None)
    shown = set(rule[1]) if rule else set()
    for f in ranked:
        if len(shown) >= top:
            break
        shown.add(f.name)
    words = [w for f in ranked if f.name in shown and (w := _word(z[f.name], f.high, f.low))]
    if rule is not None:
        return words, rule[0]
    if not ranked:
        return words, TYPICAL
    f = ranked[0]
    return words, f"customers with {f.high if z[f.name] > 0 else f.low}"


def describe_clusters(labels: np.ndarray, centres: np.ndarray, raw: np.ndarray, features: list[Feature]
                      ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Renumber clusters 1..k by size (largest first; ties by centre) and describe each:
    size, share, words, persona (unique: a repeated one gets its strongest other word),
    and per feature the centre and population mean in original units and the centre's z."""
    import numpy as np

    k = len(centres)
    sizes = np.bincount(labels, minlength=k)
    # an empty cluster (rare: a fit on every row from the sample's centres) gets no id
    order = sorted((c for c in range(k) if sizes[c]), key=lambda c: (-int(sizes[c]), tuple(np.round(centres[c], 9))))
    new_id = np.empty(k, dtype=np.int64)
    for rank, c in enumerate(order):
        new_id[c] = rank + 1
    population = raw.mean(axis=0)
    out: list[dict[str, Any]] = []
    #: persona → the z-scores of the first (largest) cluster that has it
    first: dict[str, dict[str, float]] = {}
    used: set[str] = set()
    for c in order:
        members = raw[labels == c]
        z = {f.name: float(centres[c][j]) for j, f in enumerate(features)}
        words, persona = describe_centre(z, features)
        label = persona
        if persona in first:
            # A second cluster with the same persona: name it by where it differs most from the first.
            other = first[persona]
            f = max(features, key=lambda f: (abs(z[f.name] - other[f.name]), f.name))
            more = z[f.name] > other[f.name]
            word = f.high if more else f.low
            if abs(z[f.name]) >= VERY and word.split(" ")[0] in _INTENSIFIED:
                word = f"very {word}"
            label = f"{persona} ({word})"
        if label in used:
            label = f"{persona} #{int(new_id[c])}"
        first.setdefault(persona, z)
        used.add(label)
        described = ", ".join(words) if words else "close to the average on every feature"
        out.append({
            "id": int(new_id[c]), "label": label, "size": int(sizes[c]), "share": float(sizes[c] / len(labels)),
            "words": words, "description": f"{described} → {label}",
            "features": {f.name: {"centre": float(members[:, j].mean()), "population": float(population[j]),
                                  "z": round(z[f.name], 6)} for j, f in enumerate(features)},
        })
    return new_id[labels], out


@dataclass
class Fit:
    """What :func:`cluster_values` found: the ids (1..k) per row and the clusters' descriptions."""

    k: int
    k_chosen_by: str
    silhouettes: dict[str, float]
    sample: int
    algorithm: str
    comparison: dict[str, Any]
    labels: np.ndarray
    clusters: list[dict[str, Any]]
    means: np.ndarray
    stds: np.ndarray
    timings: dict[str, float]


def cluster_values(raw: np.ndarray, features: list[Feature], config: ClustersConfig, *,
                   file: str | None = None) -> Fit:
    """Steps 2-5 on *raw* (rows × features, no NaN, more rows than the smallest k): standardise,
    choose k on a sample, fit every row, compare the algorithms, describe. ModelError naming
    *file* and the feature for a column with one value."""
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    cfg = config
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 4)
        t = now

    n = len(raw)
    k_lo, k_hi = (cfg.k, cfg.k) if cfg.k is not None else cfg.k_range
    ks = list(range(k_lo, min(k_hi, n - 1) + 1))
    z, means, stds = standardise(raw, [f.log for f in features], cfg.clip)
    for j, f in enumerate(features):
        if stds[j] == 0:
            i = next((i for i, s in enumerate(cfg.features or ()) if s.name.split(":")[-1] == f.name), None)
            where = f"features[{i}]" if i is not None else "features"
            raise field_error(file, where, f"{f.name} is {raw[0, j]:g} for every one of the {n} buyers: it cannot tell "
                                     "clusters apart", code="constant_feature")
    rng = np.random.default_rng(cfg.seed)
    pick = np.sort(rng.choice(n, size=min(cfg.sample, n), replace=False))
    sample = z[pick]
    # k-means cannot make more clusters than there are distinct points (nor a silhouette of
    # as many clusters as points): k is chosen on the sample, so count them there.
    distinct = len(np.unique(sample, axis=0))
    if k_lo >= distinct:
        where = "k" if cfg.k is not None else "k_range"
        raise field_error(file, where, f"{k_lo} clusters need more than {k_lo} distinct buyers (different values of "
                                 f"the features); the {len(pick):,} sampled have {distinct}",
                    code="too_few_buyers")
    ks = [k for k in ks if k < distinct]
    lap("standardise")
    k, silhouettes, starts = choose_k(sample, ks, seed=cfg.seed, n_init=cfg.n_init)
    lap("choose_k")
    algorithm = cfg.algorithm if cfg.algorithm != "auto" else ("minibatch" if n >= cfg.minibatch_from else "kmeans")
    labels, centres, fit_seconds = _fit(z, starts[k], algorithm, cfg.seed)
    comparison: dict[str, Any] = {algorithm: {"silhouette": _silhouette(sample, labels[pick]),
                                              "seconds": round(fit_seconds, 4)}}
    lap("fit")
    if cfg.compare:
        other = "kmeans" if algorithm == "minibatch" else "minibatch"
        other_labels, _, other_seconds = _fit(z, starts[k], other, cfg.seed)
        comparison[other] = {"silhouette": _silhouette(sample, other_labels[pick]),
                             "seconds": round(other_seconds, 4)}
        comparison["agreement"] = float(adjusted_rand_score(labels, other_labels))
        lap("compare")
    ids, clusters = describe_clusters(labels, centres, raw, features)
    lap("describe")
    return Fit(k=len(clusters), k_chosen_by="fixed" if len(ks) == 1 else "silhouette",
               silhouettes={str(key): v for key, v in silhouettes.items()} if len(ks) > 1 else {},
               sample=len(pick), algorithm=algorithm, comparison=comparison, labels=ids, clusters=clusters,
               means=means, stds=stds, timings=timings)


# -- running it --------------------------------------------------------------------------------

@dataclass
class ClustersResult:
    """What one run found and wrote."""

    as_of: datetime
    config: dict[str, Any]
    file: str | None
    profiles: int
    #: Buyers at as-of; of them, clustered (the others lacked a trait or attribute value).
    buyers: int
    clustered: int
    #: feature → buyers without a value (only traits and attributes can be missing).
    missing: dict[str, int]
    #: [{"name", "source", "log", "unit", "mean", "std"}] (mean and std of the transformed values).
    features: list[dict[str, Any]]
    k: int
    #: "silhouette" (the best of k_range) or "fixed".
    k_chosen_by: str
    #: str(k) → silhouette of KMeans on the sample (empty for a fixed k).
    silhouettes: dict[str, float]
    sample: int
    #: the algorithm whose clusters were written.
    algorithm: str
    #: algorithm → {"silhouette" on the sample, "seconds" of the fit}; both when compared,
    #: and "agreement": the adjusted Rand index between the two.
    comparison: dict[str, Any]
    #: per cluster, largest first: id, label, size, share, words, description, features.
    clusters: list[dict[str, Any]]
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    #: What was left out of the default features, and why.
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def scored(self) -> int:
        """The profiles given a cluster (a definition run's members)."""
        return self.clustered


def run_clusters(ctx: ProjectContext, *, as_of: datetime | None = None, config: ClustersConfig | None = None,
                 file: str | None = None) -> ClustersResult:
    """Cluster every buyer as of *as_of* (default now) and write ``cluster`` and ``cluster_label``.

    All or nothing: on any error the previous columns stay as they were. ModelError (naming
    *file*, the config it came from, and the field) for an unknown feature, a k the buyers
    cannot support, a feature with one value for everyone, or no paid orders up to *as_of*.
    """
    import numpy as np
    import pyarrow as pa

    from segflow.traits.store import write_owned_traits

    cfg = config or ClustersConfig()
    when = at_or_now(as_of, ctx.clock)
    wh = ctx.warehouse
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 4)
        return now

    if not wh.table_exists("orders") or not wh.count(
            f'SELECT count(*) FROM "orders" WHERE COALESCE("status", \'paid\') = \'paid\' AND "ts" <= {timestamp_sql(when)}'):
        raise ModelError(f"clusters: no paid orders up to {when.isoformat()}: load an orders file, or give a later "
                         "as-of time", code="no_orders", path="orders")
    features = resolve_features(ctx, cfg, file=file, reserved=OUTPUTS)
    notes: list[str] = []
    if cfg.features is None and len(features) < len(DEFAULT_FEATURES):
        notes.append("default features without data left out: " + ", ".join(
            n for n in DEFAULT_FEATURES if n not in {f.name for f in features}))
    sql = features_sql(features, when, timezone=ctx.config.timezone, coupon_event=cfg.coupon_event,
                       coupon_column=cfg.coupon_column, events=has_rows(wh, "events"))
    data = wh.execute(sql).fetchnumpy()
    t = lap("query", started)
    ids = np.asarray(data["profile_id"], dtype=object)
    # NULLs come back as masked entries: make them NaN (np.asarray would keep the fill values)
    raw = np.column_stack([np.ma.filled(np.ma.asarray(data[f.name]).astype(float), np.nan) for f in features]) \
        if len(ids) else np.empty((0, len(features)))
    buyers = len(ids)
    if not buyers:
        raise ModelError(f"clusters: no buyers up to {when.isoformat()}: the paid orders belong to profiles created "
                         "later or not loaded", code="no_orders", path="orders")
    nan = np.isnan(raw)
    missing = {f.name: int(nan[:, j].sum()) for j, f in enumerate(features) if nan[:, j].any()}
    if missing:
        if cfg.missing == "skip":
            keep = ~nan.any(axis=1)
            ids, raw = ids[keep], raw[keep]
        else:
            fill = np.zeros(len(features)) if cfg.missing == "zero" else np.nanmean(np.where(nan, np.nan, raw), axis=0)
            raw = np.where(nan, np.nan_to_num(fill)[None, :], raw)
    n = len(ids)
    if cfg.features is None and n:
        constant = [j for j in range(len(features)) if np.ptp(raw[:, j]) == 0]
        if constant:
            notes.append("default features the same for every buyer left out: " + ", ".join(
                f"{features[j].name} ({raw[0, j]:g})" for j in constant))
            kept = [j for j in range(len(features)) if j not in constant]
            features, raw = [features[j] for j in kept], raw[:, kept]
    if not features:
        raise field_error(file, "features", "none of the default features tells the buyers apart: list the features "
                                      "to use", code="constant_feature")
    k_lo = cfg.k if cfg.k is not None else cfg.k_range[0]
    if n <= k_lo:
        raise field_error(file, "k" if cfg.k is not None else "k_range",
                    f"{k_lo} clusters need more than {k_lo} buyers with every feature; there are {n} up to "
                    f"{when.isoformat()}", code="too_few_buyers")
    fit = cluster_values(raw, features, cfg, file=file)
    timings.update(fit.timings)
    t = time.perf_counter()
    ids_out, clusters = fit.labels, fit.clusters
    labels = pa.array([c["label"] for c in sorted(clusters, key=lambda c: c["id"])], type=pa.string())
    table = pa.table({"profile_id": pa.array(ids.tolist(), type=pa.string()),
                      "cluster": pa.array(ids_out, type=pa.int64()),
                      "cluster_label": labels.take(pa.array(ids_out - 1))})
    with wh.registered(_TABLE, table) as name:
        write_owned_traits(ctx, OWNER, OUTPUTS, f'SELECT * FROM "{name}"', as_of=when, file=file,
                           fingerprint=cfg.fingerprint())
    lap("write", t)
    profiles = wh.count('SELECT count(*) FROM "traits"')
    return ClustersResult(
        as_of=when, config=cfg.model_dump(mode="json") | {"features": [f.name for f in features]}, file=file,
        profiles=profiles, buyers=buyers, clustered=n, missing=missing,
        features=[{"name": f.name, "source": f.source, "log": f.log, "unit": f.unit, "mean": float(fit.means[j]),
                   "std": float(fit.stds[j])} for j, f in enumerate(features)],
        k=fit.k, k_chosen_by=fit.k_chosen_by, silhouettes=fit.silhouettes, sample=fit.sample,
        algorithm=fit.algorithm, comparison=fit.comparison, clusters=clusters,
        seconds=time.perf_counter() - started, timings=timings, notes=notes)


def _describe(result: ClustersResult) -> str:
    return f"{result.k} clusters of {result.clustered:,} buyers: " + ", ".join(
        f"{c['label']} {c['size']:,}" for c in result.clusters)


def _reads(config: ClustersConfig) -> set[tuple[str, str]]:
    """The traits its features may read (``trait:x``, or a bare name that is not a built-in)."""
    from segflow.models.cluster_features import BUILTIN

    out = set()
    for spec in config.features or ():
        kind, _, bare = spec.name.partition(":") if ":" in spec.name else ("", "", spec.name)
        if kind == "trait" or (kind == "" and bare not in BUILTIN):
            out.add(("trait", bare))
    return out


register_model(ModelKind(name="clusters", outputs=OUTPUTS, settings=ClustersConfig, load=load_clusters_config,
                         run=run_clusters, reads=_reads,
                         describe=_describe, title="k-means clusters of buyers, described in words"))
