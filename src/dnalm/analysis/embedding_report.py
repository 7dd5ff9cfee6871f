"""Embedding sets compared (GROVER Fig. 4; DNABERT study): PCA and MEV, what the PCs correlate with,
UMAP maps, hierarchical clusters of tokens.

MEV, the maximum explainable variance, is the share of variance on the first principal component: a
static embedding that mostly encodes one property (frequency, say) has a high MEV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.analysis.token_embeddings import CHARACTERISTICS, load_set
from dnalm.core import mqc
from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import write_tsv
from dnalm.core.plotting import figure


def pca(matrix: np.ndarray, n_pcs: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores on the first PCs and the explained-variance ratio of every PC computed."""
    from sklearn.decomposition import PCA

    fitted = PCA(n_components=min(n_pcs, *matrix.shape)).fit(matrix)
    return fitted.transform(matrix), fitted.explained_variance_ratio_


def pc_correlations(scores: np.ndarray, rows: list[dict[str, str]]) -> dict[str, list[float]]:
    """Spearman correlation of every PC with every token characteristic present (GROVER Fig. 4g,h)."""
    from scipy.stats import spearmanr

    table = {}
    for name in CHARACTERISTICS:
        values = np.array([float(r[name]) for r in rows])
        if np.isnan(values).all() or np.nanstd(values) == 0:
            continue
        ok = ~np.isnan(values)
        table[name] = [float(spearmanr(scores[ok, j], values[ok]).statistic) for j in range(scores.shape[1])]
    return table


def plot_correlations(table: dict[str, list[float]], title: str, path: Path) -> None:
    names = list(table)
    data = np.array([table[n] for n in names])
    with figure(path, figsize=(1 + 0.4 * data.shape[1], 0.8 + 0.4 * len(names))) as (fig, ax):
        image = ax.imshow(data, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_yticks(range(len(names)), names)
        ax.set_xticks(range(data.shape[1]), [f"PC{j + 1}" for j in range(data.shape[1])], rotation=90, fontsize=7)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, label="Spearman rho")


def umap_coordinates(matrix: np.ndarray, seed: int):
    """A seeded 2-D UMAP of the rows (the fitted reducer, to transform more rows later)."""
    import umap

    reducer = umap.UMAP(n_neighbors=min(15, len(matrix) - 1), random_state=seed)
    return reducer, reducer.fit_transform(matrix)


def plot_panels(xy: np.ndarray, colourings: dict[str, np.ndarray], title: str, path: Path) -> None:
    """One UMAP scatter per colouring, at most 3 in a row (readable at a report's width); categorical
    colourings (strings) get a legend."""
    columns = min(3, len(colourings))
    rows = -(-len(colourings) // columns)
    with figure(path, rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False) as (fig, axes):
        for ax in axes.flat[len(colourings):]:
            ax.set_axis_off()
        for ax, (name, values) in zip(axes.flat, colourings.items()):
            values = np.asarray(values)
            if values.dtype.kind in "US":
                for category in sorted(set(values.tolist())):
                    hit = values == category
                    ax.scatter(xy[hit, 0], xy[hit, 1], s=4, label=category)
                ax.legend(fontsize=6, markerscale=2, loc="best")
            else:
                points = ax.scatter(xy[:, 0], xy[:, 1], c=values, s=4, cmap="viridis")
                fig.colorbar(points, ax=ax)
            ax.set(title=name, xticks=[], yticks=[])
        fig.suptitle(title)


def cluster_tokens(matrix: np.ndarray, tokens: list[str], n_clusters: int, title: str, path: Path) -> np.ndarray:
    """Average-linkage clustering on cosine distance; the dendrogram (top 40 branches) and cluster labels."""
    from scipy.cluster.hierarchy import dendrogram, fcluster, linkage

    tree = linkage(matrix, method="average", metric="cosine")
    with figure(path, figsize=(8, 3.5)) as (_fig, ax):
        dendrogram(tree, ax=ax, truncate_mode="lastp", p=40, labels=tokens, leaf_rotation=90)
        ax.set(title=title, ylabel="cosine distance")
    return fcluster(tree, t=n_clusters, criterion="maxclust")


def central_view(rows: list[dict[str, str]], k: int) -> dict[str, np.ndarray]:
    """DNABERT study: overlapping k-mers coloured by their central dinucleotide and pyrimidine share."""
    full = [r["token"] if len(r["token"]) == k else "" for r in rows]
    centre = np.array([t[k // 2 - 1:k // 2 + 1] if t else "tail" for t in full])
    pyrimidines = np.array([(t.count("C") + t.count("T")) / k if t else np.nan for t in full])
    return {"central dinucleotide": centre, "pyrimidine share": pyrimidines}


def embedding_report(set_dirs: list[Path], out: Path, *, n_pcs: int, n_clusters: int, seed: int) -> list[dict]:
    """Per embedding set: PCA/MEV, PC correlations, UMAP panels, clusters; one summary table for all."""
    summary = []
    heatmaps = {}
    for d in set_dirs:
        info, matrix, rows = load_set(d)
        name = info["name"]
        if len(rows) < 5:
            raise InputError(f"--embeddings {d}: only {len(rows)} tokens with embeddings")
        scores, ratio = pca(matrix, n_pcs)
        write_tsv(out / f"{name}_pca.tsv", ["pc", "explained_variance_ratio"],
                  [[j + 1, float(r)] for j, r in enumerate(ratio)])
        table = pc_correlations(scores, rows)
        header = ["characteristic"] + [f"PC{j + 1}" for j in range(scores.shape[1])]
        write_tsv(out / f"{name}_pc_correlations.tsv", header, [[c] + v for c, v in table.items()])
        plot_correlations(table, f"{name}: PCs vs token characteristics", out / f"{name}_pc_correlations.png")
        heatmaps[name] = table
        _, xy = umap_coordinates(matrix, seed)
        tokens = [r["token"] for r in rows]
        colourings = {"GC content": np.array([float(r["gc"]) for r in rows]),
                      "length": np.array([float(r["length"]) for r in rows]),
                      "log10 frequency": np.array([float(r["log10_frequency"]) for r in rows])}
        views: dict[str, np.ndarray] = {}
        if info.get("vocab_kind") == "kmer-overlap":
            views = central_view(rows, max(len(t) for t in tokens))
            colourings.update(views)
        plot_panels(xy, colourings, f"{name}: UMAP of token embeddings", out / f"{name}_umap.png")
        clusters = cluster_tokens(matrix, tokens, n_clusters, f"{name}: token clusters", out / f"{name}_dendrogram.png")
        write_tsv(out / f"{name}_tokens.tsv", ["token", "umap1", "umap2", "cluster", "pc1", "pc2", *views],
                  [[t, float(x), float(y), int(c), float(p[0]), float(p[1]) if len(p) > 1 else 0.0,
                    *[v[i] for v in views.values()]]
                   for i, (t, (x, y), c, p) in enumerate(zip(tokens, xy, clusters, scores))])
        summary.append({"name": name, "kind": info["kind"], "vocabulary": info["vocabulary"], "tokens": len(rows),
                        "dim": int(matrix.shape[1]), "mev": float(ratio[0])})
        log.info("%s: MEV %.3f over %d tokens", name, ratio[0], len(rows))
    header = list(summary[0])
    write_tsv(out / "embedding_summary.tsv", header, [[s[h] for h in header] for s in summary])
    mqc.write_table(out / "embeddings_mqc.tsv", "dnalm_embeddings", "Token embeddings",
                    "Maximum explainable variance (share of variance on PC1) of the model's token embeddings and of "
                    "the Word2Vec baseline.", ["Sample", "kind", "vocabulary", "tokens", "dim", "mev"],
                    [[s["name"], s["kind"], s["vocabulary"], s["tokens"], s["dim"], s["mev"]] for s in summary],
                    {"mev": mqc.PERCENT})
    for name, table in heatmaps.items():
        mqc.write_plot(out / f"{name}_pc_correlations_mqc.yaml", f"dnalm_pc_correlations_{name}",
                       f"PC correlations: {name}", "Spearman correlation of the first principal components of the "
                       "token embeddings with token characteristics (GROVER Fig. 4g,h).", "heatmap",
                       {c: {f"PC{j + 1}": v for j, v in enumerate(values)} for c, values in table.items()},
                       min=-1, max=1)
    return summary
