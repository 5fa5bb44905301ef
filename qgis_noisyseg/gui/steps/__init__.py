"""The panel's five pages, one per step of the workflow."""

from .annotate import AnnotateStep
from .data import DataStep
from .finetune import FinetuneStep
from .predict import PredictStep
from .pretrain import PretrainStep

__all__ = ["AnnotateStep", "DataStep", "FinetuneStep", "PredictStep", "PretrainStep"]
