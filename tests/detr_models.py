"""Small members of mmdet 3.3's DETR family, made from its own model-zoo configs, for tests
that must build and step them on the CPU in seconds."""
from mmengine.config import ConfigDict

from mmkd.models.teacher import load_model_config

ZOO = 'mmdet::'
DETR_FAMILY = {
    'detr': f'{ZOO}detr/detr_r50_8xb2-150e_coco.py',
    'deformable_detr': f'{ZOO}deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
    'deformable_detr_two_stage':
        f'{ZOO}deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py',
    'conditional_detr': f'{ZOO}conditional_detr/conditional-detr_r50_8xb2-50e_coco.py',
    'dab_detr': f'{ZOO}dab_detr/dab-detr_r50_8xb2-50e_coco.py',
    'dino': f'{ZOO}dino/dino-4scale_r50_8xb2-12e_coco.py',
}

# mmdet encodes coordinates at 128 features each in these (the decoder layers of Conditional
# DETR and DINO, the two-stage pre_decoder), so their width is 256 whatever the config says
FIXED_WIDTH = ('conditional_detr', 'deformable_detr_two_stage', 'dino')


def _shrink(node, embed_dims: int, num_layers: int):
    """Every width of a DETR config's transformer set from ``embed_dims``, and the depth of its
    encoder and decoder to ``num_layers``, in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'embed_dims':
                node[key] = embed_dims
            elif key == 'feedforward_channels':
                node[key] = 2 * embed_dims
            elif key == 'num_feats':
                node[key] = embed_dims // 2
            elif key == 'num_layers':
                node[key] = num_layers
            else:
                _shrink(value, embed_dims, num_layers)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _shrink(item, embed_dims, num_layers)


def tiny_detr(family: str, num_classes: int = 8, embed_dims: int = 32,
              num_queries: int = 12, base_channels: int = 8, num_layers: int = 2) -> ConfigDict:
    """The model config of ``family`` (a key of :data:`DETR_FAMILY`) at test size: a ResNet-18
    of ``base_channels`` without pretrained weights, ``num_layers`` encoder and decoder layers
    of ``embed_dims`` channels, ``num_queries`` queries, ``num_classes`` classes."""
    model = load_model_config(DETR_FAMILY[family])
    if family in FIXED_WIDTH:
        embed_dims = 256
    out_indices = model.backbone.out_indices
    model.backbone.update(depth=18, base_channels=base_channels, init_cfg=None,
                          norm_cfg=dict(type='BN', requires_grad=True), frozen_stages=-1)
    model.neck.in_channels = [base_channels * 2 ** index for index in out_indices]
    model.neck.out_channels = embed_dims
    _shrink(model, embed_dims, num_layers)
    model.num_queries = num_queries
    model.bbox_head.num_classes = num_classes
    model.bbox_head.embed_dims = embed_dims
    if 'dn_cfg' in model:
        model.dn_cfg.group_cfg.num_dn_queries = 8
    return model
