-- Phase F report 1 (legacy): Marathon Match stats of the given members, from the legacy tables (keyed by names).
--   $1 bigint[]  member ids
SELECT DISTINCT ON (d."userId")
       d."userId", m.handle, s.rating, s.volatility, s."maximumRating" AS "maxRating", s."minimumRating" AS "minRating",
       s.rank AS "globalRank", s."countryRank", s.challenges, s.wins, COALESCE(h.n, 0) AS "historyRows"
FROM members."memberDataScienceStats" d
JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id
JOIN members."member" m ON m."userId" = d."userId"
LEFT JOIN LATERAL (
  SELECT count(DISTINCT x."challengeId")::int AS n
  FROM members."memberHistoryStats" hs
  JOIN members."memberDataScienceHistoryStats" x ON x."historyStatsId" = hs.id
  WHERE hs."userId" = d."userId" AND x."subTrack" = 'MARATHON_MATCH'
) h ON true
WHERE d."userId" = ANY($1::bigint[])
-- several stats rows for one member (real data has them): the most recent, as the backfill reads legacy
ORDER BY d."userId", s."mostRecentEventDate" DESC NULLS LAST, s.challenges DESC NULLS LAST
