"""Constructs for each repeated shape of the pipeline."""

from stacks.constructs.api import ApiEdge, PipelineApi
from stacks.constructs.data_stores import DataStores
from stacks.constructs.monitoring import Monitoring
from stacks.constructs.pipeline_function import PipelineFunction
from stacks.constructs.queue_worker import QueueWorker
from stacks.constructs.stream_consumer import StreamConsumer

__all__ = ["ApiEdge", "DataStores", "Monitoring", "PipelineApi", "PipelineFunction", "QueueWorker", "StreamConsumer"]
