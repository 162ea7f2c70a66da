"""t-SNE of audio-visual clip embeddings and class-name embeddings in the
model's joint space.

    python tools/analysis_tools/visualize_embeddings.py CONFIG CHECKPOINT \
        [--split test|val] [--num-classes 10] [--clips-per-class 20] \
        [--out tsne.png] [--cfg-options k=v ...]

Clips of ``--num-classes`` classes of the test (or validation) set, half
seen and half unseen, are embedded by the model's audio-visual branch, the
classes' text embeddings by its text branch (``GZSLHead``, docs/method.md);
both sets go through one t-SNE (scikit-learn, Euclidean, as the model ranks
classes by L2 distance). Clips are dots (seen classes) or triangles (unseen),
class names stars, one colour per class. Well-trained models put each
class's clips around its star.
"""
import argparse
import os.path as osp
import sys

import numpy as np
from mmengine.config import Config, DictAction

from stftbox.apis.inference import (embed_clips, init_model,
                                    project_class_embeddings)
from stftbox.evaluation.result_plots import (new_figure, place_labels,
                                             save_figure)

#: figure size in inches (x DPI = pixels)
FIGURE_SIZE = (10.0, 8.0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='t-SNE of clip and class-name embeddings in the joint '
        'space of a trained model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file, http(s) URL or '
                        'model-zoo name')
    parser.add_argument('--split', choices=['test', 'val'], default='test',
                        help='dataset of the config to take clips from '
                        '(test_dataloader or val_dataloader; default test)')
    parser.add_argument('--num-classes', type=int, default=10,
                        help='classes shown, half seen and half unseen '
                        '(default 10)')
    parser.add_argument('--clips-per-class', type=int, default=20,
                        help='at most this many clips of each class '
                        '(default 20)')
    parser.add_argument('--perplexity', type=float, default=30.0,
                        help='t-SNE perplexity (capped below the number of '
                        'points; default 30)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the class choice and of t-SNE')
    parser.add_argument('--out', default='tsne_embeddings.png',
                        help='PNG to write (default tsne_embeddings.png)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'test_dataloader.dataset.data_root=/path/UCF')
    args = parser.parse_args(argv)
    if args.num_classes < 1 or args.clips_per_class < 1:
        parser.error('--num-classes and --clips-per-class must be >= 1')
    return args


def choose_classes(seen, unseen, num, rng):
    """``num`` class ids, half from ``unseen`` (rounded down), the rest
    from ``seen`` (more from the other list when one is short)."""
    seen, unseen = list(seen), list(unseen)
    n_u = min(len(unseen), num // 2)
    n_s = min(len(seen), num - n_u)
    n_u = min(len(unseen), num - n_s)
    pick = lambda ids, n: [int(c) for c in  # noqa: E731
                           sorted(rng.choice(ids, n, replace=False))] \
        if n else []
    return pick(seen, n_s), pick(unseen, n_u)


def collect(dataset, class_ids, per_class, rng):
    """Indices of at most ``per_class`` clips of each class in
    ``class_ids`` (random, sorted)."""
    labels = np.asarray(dataset.labels)
    out = []
    for c in class_ids:
        idx = np.flatnonzero(labels == c)
        if len(idx) > per_class:
            idx = np.sort(rng.choice(idx, per_class, replace=False))
        out.extend(int(i) for i in idx)
    return out


def tsne_2d(points: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    """``[N, E]`` -> ``[N, 2]`` with ``sklearn.manifold.TSNE`` (PCA init,
    perplexity capped at ``(N - 1) / 3``)."""
    from sklearn.manifold import TSNE
    n = len(points)
    if n < 4:
        raise ValueError(f't-SNE needs at least 4 points, got {n}')
    perp = float(min(perplexity, max(1.0, (n - 1) / 3.0)))
    return TSNE(n_components=2, perplexity=perp, init='pca',
                random_state=seed).fit_transform(points.astype(np.float64))


def tsne_figure(xy_clips, clip_labels, xy_classes, class_ids, names, unseen,
                title):
    """The scatter plot of :func:`plot_tsne` (not saved). Class names are
    placed by :func:`~stftbox.evaluation.result_plots.place_labels`: no two
    overlap and all stay inside the frame."""
    from matplotlib import colormaps
    fig = new_figure(FIGURE_SIZE)
    ax = fig.add_subplot()
    cmap = colormaps['tab20' if len(class_ids) > 10 else 'tab10']
    for k, c in enumerate(class_ids):
        color = cmap(k % cmap.N)
        sel = clip_labels == c
        is_unseen = c in unseen
        ax.scatter(xy_clips[sel, 0], xy_clips[sel, 1], s=18, color=color,
                   marker='^' if is_unseen else 'o', alpha=0.7)
        ax.scatter(xy_classes[k, 0], xy_classes[k, 1], s=320, color=color,
                   marker='*', edgecolors='k', linewidths=1.0, zorder=3)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls='', marker='o', color='grey',
                      label='clip, seen class'),
               Line2D([], [], ls='', marker='^', color='grey',
                      label='clip, unseen class'),
               Line2D([], [], ls='', marker='*', ms=14, color='grey',
                      markeredgecolor='k', label='class-name embedding')]
    ax.legend(handles=handles, loc='upper left', bbox_to_anchor=(1.0, 1.0))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.margins(0.12)   # room for the labels of the outermost stars
    place_labels(ax, np.asarray(xy_classes)[:len(class_ids)],
                 [names[c] + (' (unseen)' if c in unseen else '')
                  for c in class_ids], fontsize=8, weight='bold', zorder=4)
    return fig


def plot_tsne(xy_clips, clip_labels, xy_classes, class_ids, names, unseen,
              out_file, title):
    """Scatter plot (:func:`tsne_figure`); returns ``out_file``
    (``FIGURE_SIZE`` x DPI px)."""
    return save_figure(tsne_figure(xy_clips, clip_labels, xy_classes,
                                   class_ids, names, unseen, title),
                       out_file)


def main(argv=None):
    from mmengine.registry import init_default_scope

    from stftbox.datasets import DatasetError
    from stftbox.registry import DATASETS
    from stftbox.fileio import CheckpointError, DownloadError, ModelZooError
    args = parse_args(argv)
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        model = init_model(cfg, args.checkpoint, device=args.device)
        init_default_scope('stftbox')
        dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    except (DatasetError, CheckpointError, DownloadError, ModelZooError,
            FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    meta = dataset.metainfo
    rng = np.random.default_rng(args.seed)
    seen, unseen = choose_classes(meta['seen_class_ids'],
                                  meta['unseen_class_ids'],
                                  args.num_classes, rng)
    class_ids = seen + unseen
    idx = collect(dataset, class_ids, args.clips_per_class, rng)
    if not idx:
        sys.exit(f'error: {dataset!r} has no clips of the chosen classes')
    items = [dataset[i] for i in idx]
    clips = embed_clips(model, [it['audio'] for it in items],
                        [it['video'] for it in items])
    labels = np.array([it['label'] for it in items])
    classes = project_class_embeddings(
        model, meta['class_embeddings'][class_ids])
    xy = tsne_2d(np.concatenate([clips, classes]), args.perplexity,
                 args.seed)
    title = (f'{osp.basename(args.config)}: {len(idx)} {args.split} clips '
             f'of {len(seen)} seen + {len(unseen)} unseen classes (t-SNE)')
    path = plot_tsne(xy[:len(clips)], labels, xy[len(clips):], class_ids,
                     meta['classes'], set(unseen), args.out, title)
    print(f't-SNE of {len(idx)} clips and {len(class_ids)} class '
          f'embeddings: {path}')
    return path


if __name__ == '__main__':
    main()
