-- Phase F report 1 (unified): Marathon Match stats of the given members.
--   $1 bigint[]  member ids
--   $2 text      the ChallengeTrack id of DATA_SCIENCE, $3 text the ChallengeType id of Marathon Match: catalogue
--                ids, resolved by name from the challenges database. Unified rows are keyed by them, so the legacy
--                names ('DATA_SCIENCE', 'MARATHON_MATCH') match nothing here: phase F runs this same query with the
--                names too, to show that trap.
--   $4 text[]    signatures of writers that recompute ratings (rerates): their values are not legacy's numbers
SELECT s."userId", m.handle, s.rating, s.volatility, s."maxRating", s."minRating", s."globalRank", s."countryRank",
       s.challenges, s.wins, COALESCE(h.n, 0) AS "historyRows",
       COALESCE(s."updatedBy" = ANY($4::text[]), false) OR COALESCE(h.rerated, false) AS recomputed
FROM members."memberStats" s
JOIN members."member" m ON m."userId" = s."userId"
LEFT JOIN LATERAL (
  SELECT count(*)::int AS n,
         bool_or(x."createdBy" = ANY($4::text[]) OR COALESCE(x."updatedBy" = ANY($4::text[]), false)) AS rerated
  FROM members."memberStatsHistory" x
  WHERE x."userId" = s."userId" AND x."trackId" = s."trackId" AND x."typeId" = s."typeId"
) h ON true
WHERE s."userId" = ANY($1::bigint[]) AND s."trackId"::text = $2::text AND s."typeId"::text = $3::text AND NOT s."isPrivate"
ORDER BY s."userId"
