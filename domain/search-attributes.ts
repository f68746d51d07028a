import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed search attributes so the Web UI can filter cutover runs: CutoverPhase="preflight" AND CutoverState="failed". */
export const CutoverPhase = defineSearchAttributeKey('CutoverPhase', SearchAttributeType.KEYWORD);
export const CutoverState = defineSearchAttributeKey('CutoverState', SearchAttributeType.KEYWORD);
export const CutoverTrack = defineSearchAttributeKey('CutoverTrack', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [CutoverPhase, CutoverState, CutoverTrack];
