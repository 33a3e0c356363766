"""The outputs `python -m ops` finds the pipeline by: every stage's queue and DLQ,
the tables and the chunk size."""
from __future__ import annotations

from ops.stack import QUEUE_STAGES, Pipeline
from stacks.config import PipelineConfig
from tests.infrastructure.template_queries import TemplateQueries


def test_every_queue_stage_outputs_its_queue_and_its_dead_letter_queue(queries: TemplateQueries,
                                                                         config: PipelineConfig) -> None:
    outputs = queries.template["Outputs"]
    assert set(QUEUE_STAGES) == {spec.directory for spec in config.queue_stages}  # ops knows every stage
    for spec in config.queue_stages:
        stem = "".join(part.capitalize() for part in spec.directory.split("_"))
        queue = queries.queue_feeding(spec.directory)
        assert outputs[f"{stem}QueueUrl"]["Value"] == {"Ref": queue}
        assert outputs[f"{stem}DeadLetterQueueUrl"]["Value"] == {"Ref": queries.dead_letter_queue_of(queue)}
        assert QUEUE_STAGES[spec.directory].value == spec.stage_name  # the name dead_letters records under


def test_ops_reads_the_pipeline_from_those_outputs(queries: TemplateQueries, config: PipelineConfig) -> None:
    outputs = {key: str(output["Value"]) for key, output in queries.template["Outputs"].items()}
    pipeline = Pipeline.from_outputs("TvReportPipeline", outputs)
    assert pipeline.chunk_size == config.chunk_size
    assert set(pipeline.queues) == set(QUEUE_STAGES)
