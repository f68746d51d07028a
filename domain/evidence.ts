/** One stored piece of evidence: what a phase found, with the run it came from. Gates read these. */
export interface EvidenceInput {
  kind: string;
  workflowId: string;
  runId: string;
  passed: boolean;
  input: unknown;
  result: unknown;
  dataWatermark?: string;
}
