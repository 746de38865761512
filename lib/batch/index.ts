/** `cfkit/batch`: bulk export in one process, and its scale-out over BullMQ on Redis. */
export { exportRecommendations, recommendAll, DEFAULT_BATCH_SIZE } from './export';
export type { ExportFormat, ExportOptions, ExportSummary, RecommendAllOptions, RecommendationBatch } from './export';
export { enqueueExport, startExportWorker, exportStatus, shardFile, DEFAULT_QUEUE, DEFAULT_REDIS } from './queue';
export type { EnqueueOptions, ExportStatus, ExportWorker, Manifest, QueueOptions, ShardJob, WorkerOptions } from './queue';
