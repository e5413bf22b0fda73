"""The search space: the terms a recipe is made of, those that build on a pair, a trial's recipe."""
import logging
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from mmengine.logging import MMLogger

from .spec import SearchSpec, load_config

NONE = 'none'
_CHEN_KD = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0)


@dataclass(frozen=True)
class Term:
    """A part of a recipe: one or more distillers whose losses share one ratio to the detection
    loss (each distiller of the term gets an equal part of it).

    Attributes:
        name: as the search and its table call it.
        kind: ``'feature'`` or ``'output'``: a recipe has at most one of each.
        distillers: their configs, without ``loss_weight``.
        ratios: the range of the ratio searched, on a log scale.
    """
    name: str
    kind: str
    distillers: Tuple[dict, ...]
    ratios: Tuple[float, float] = (0.1, 10.0)


# Feature terms reach further: the BCCD default's PKD term is 39x the detection loss.
FEATURE_RATIOS = (0.1, 40.0)


TERMS = (
    Term('pkd', 'feature', (dict(type='mmkd.PKD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('cwd', 'feature', (dict(type='mmkd.CWD', student='neck', teacher='neck', tau=1.0), ),
         FEATURE_RATIOS),
    Term('mgd', 'feature', (dict(type='mmkd.MGD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('fgd', 'feature', (dict(type='mmkd.FGD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('reviewkd', 'feature', (dict(type='mmkd.ReviewKD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('target_aware', 'feature', (dict(type='mmkd.TargetAwareFeatureKD'), ), FEATURE_RATIOS),
    Term('rpn_roi_kd', 'output', (dict(type='mmkd.RPNKD', **_CHEN_KD),
                                  dict(type='mmkd.RoIHeadKD', **_CHEN_KD))),
    Term('roi_crosskd', 'output', (dict(type='mmkd.RoICrossKD'), )),
    Term('ld', 'output', (dict(type='mmkd.LD', temperature=10.0), )),
    Term('crosskd', 'output', (dict(type='mmkd.CrossKD', reused_index=1), )),
    Term('retina_crosskd', 'output', (dict(type='mmkd.RetinaCrossKD', reused_index=1), )),
    Term('logit_kd', 'output', (dict(type='mmkd.DenseLogitKD', temperature=2.0), )),
    Term('kd_detr', 'output', (dict(type='mmkd.KDDETR'), )),
    Term('hungarian_kd', 'output', (dict(type='mmkd.HungarianKD'), )),
    Term('query_prior', 'output', (dict(type='mmkd.QueryPriorAssignmentKD'), )),
)


def applicable_terms(spec: SearchSpec, names: Optional[Sequence[str]] = None):
    """The terms of :data:`TERMS` (or those ``names``) that build on the pair, and for each left
    out the reason (its distillers' own build checks: shared strides, same anchors and classes,
    a head of the right kind)."""
    from mmkd.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    known = {term.name: term for term in TERMS}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise ValueError(f'--terms {unknown}: unknown; choose from {sorted(known)}')
    student = load_config(spec.student_config).model
    teacher = dict(config=spec.teacher_config, checkpoint=spec.teacher_checkpoint)
    usable, skipped = [], {}
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)         # ten builds' pairing lines say nothing new
    try:
        for term in (known[name] for name in names) if names else TERMS:
            try:
                MODELS.build(dict(type='mmkd.DistillDetector', student=student, teacher=teacher,
                                  distillers=[dict(cfg, loss_weight=1.0)
                                              for cfg in term.distillers]))
            except Exception as err:  # noqa: BLE001 (any build error: "does not apply")
                message = str(err).strip('"').splitlines()[0]
                skipped[term.name] = message if len(message) < 200 else message[:197] + '...'
            else:
                usable.append(term)
    finally:
        logger.setLevel(level)
    return usable, skipped


@dataclass(frozen=True)
class Recipe:
    """A feature term and an output term (either may be ``'none'``), with their ratios."""
    feature: str = NONE
    feature_ratio: float = 0.0
    output: str = NONE
    output_ratio: float = 0.0

    @classmethod
    def from_params(cls, params: dict) -> 'Recipe':
        """From a trial's parameters (``feature``, ``feature_ratio``, ``output``,
        ``output_ratio``); a ratio is ignored where its term is ``'none'``."""
        feature, output = params.get('feature', NONE), params.get('output', NONE)
        return cls(feature, _round(params['feature_ratio']) if feature != NONE else 0.0,
                   output, _round(params['output_ratio']) if output != NONE else 0.0)

    @classmethod
    def from_label(cls, label: str, terms: Sequence[Term]) -> 'Recipe':
        """From a label as the search's report writes it (``'pkd x26 + rpn_roi_kd x2.7'``):
        at most one feature and one output term of ``terms``, each ``NAME xRATIO``."""
        known = {term.name: term for term in terms}
        parts = {}
        for part in label.split('+'):
            match = re.fullmatch(r'\s*(\w+)\s+x\s*([0-9.eE+-]+)\s*', part)
            if not match:
                raise ValueError(f'{label!r}: write a recipe as NAME xRATIO [+ NAME xRATIO], '
                                 "e.g. 'pkd x26 + rpn_roi_kd x2.7'")
            name, ratio = match[1], float(match[2])
            if name not in known:
                raise ValueError(f'{label!r}: {name!r} is not a term of this search (those that '
                                 f'build on the pair: {sorted(known)})')
            if not ratio > 0:
                raise ValueError(f'{label!r}: the ratio of {name} must be > 0')
            kind = known[name].kind
            if kind in parts:
                raise ValueError(f'{label!r}: a recipe has at most one {kind} term')
            parts[kind] = (name, ratio)
        feature, feature_ratio = parts.get('feature', (NONE, 1.0))
        output, output_ratio = parts.get('output', (NONE, 1.0))
        return cls.from_params(dict(feature=feature, feature_ratio=feature_ratio,
                                    output=output, output_ratio=output_ratio))

    @property
    def params(self) -> dict:
        return dict(feature=self.feature, feature_ratio=self.feature_ratio or 1.0,
                    output=self.output, output_ratio=self.output_ratio or 1.0)

    @property
    def is_student(self) -> bool:
        return self.feature == NONE and self.output == NONE

    @property
    def label(self) -> str:
        if self.is_student:
            return 'student alone'
        parts = [f'{name} x{ratio:g}' for name, ratio in
                 ((self.feature, self.feature_ratio), (self.output, self.output_ratio))
                 if name != NONE]
        return ' + '.join(parts)

    def distillers(self, over_iters: int) -> List[dict]:
        terms = {term.name: term for term in TERMS}
        configs = []
        for name, ratio in ((self.feature, self.feature_ratio), (self.output, self.output_ratio)):
            if name == NONE:
                continue
            term = terms[name]
            share = _round(ratio / len(term.distillers))
            configs += [dict(cfg, loss_weight=dict(ratio=share, over_iters=over_iters))
                        for cfg in term.distillers]
        return configs


def _round(value: float) -> float:
    """Three significant digits: the ratio a trial trains is the one its config shows."""
    return float(f'{value:.3g}')


def suggest_recipe(trial, terms: Sequence[Term]) -> Recipe:
    """The trial's recipe from Optuna's sampler (or its fixed parameters). Both ratios are
    always drawn, used or not, so that every trial has every parameter (the importance plot
    needs that)."""
    params = {}
    for kind in ('feature', 'output'):
        of_kind = [term for term in terms if term.kind == kind]
        low = min([term.ratios[0] for term in of_kind] or [FEATURE_RATIOS[0]])
        high = max([term.ratios[1] for term in of_kind] or [FEATURE_RATIOS[1]])
        params[kind] = trial.suggest_categorical(kind, [NONE] + [t.name for t in of_kind])
        params[f'{kind}_ratio'] = trial.suggest_float(f'{kind}_ratio', low, high, log=True)
    return Recipe.from_params(params)


STUDENT_PARAMS = dict(feature=NONE, feature_ratio=1.0, output=NONE, output_ratio=1.0)


def recipe_of(trial) -> Recipe:
    """The recipe a trial ran (kept in its ``params`` attribute: a confirming run has no
    sampled parameters)."""
    return Recipe.from_params(trial.user_attrs['params'])
