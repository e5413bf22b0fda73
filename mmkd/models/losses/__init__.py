from .hcl import hcl_loss

__all__ = ['hcl_loss']
