/**
 * The layering, enforced in `npm test` (npm run lint). Imports go downward only:
 *
 *   scripts, test            operator CLI, stack, seed, benches; tests
 *   workers                  worker construction (activities + the workflow bundle)
 *   api        activities    HTTP routes; thin activity adapters
 *   lib                      runtime plumbing: Postgres and Temporal bring-up
 *   store                    the data layer: every SQL statement
 *   workflows                deterministic orchestration (domain only; activities by type)
 *   domain     migrations    pure rules and contracts; the schema we own
 *
 * Clients (scripts, api) import a workflow's messages file, never its code (types excepted).
 */
const ours = '^(domain|store|lib|migrations|activities|api|workflows|workers|scripts|test)/';
const forbidUpward = (name, from, to, comment) => ({ name, severity: 'error', comment, from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'a cycle means two modules are one concept or a contract lives in the wrong place (type-only cycles such as messages ↔ workflow are fine)',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] }, dependencyTypesNot: ['type-only'] },
    },
    forbidUpward('domain-is-pure', '^domain/', ours.replace('domain|', ''), 'domain/ is pure: it imports nothing of ours but domain/'),
    forbidUpward(
      'migrations-stand-alone',
      '^migrations/',
      ours.replace('migrations|', '').replace('domain|', ''),
      'migrations import nothing of ours but domain/',
    ),
    forbidUpward(
      'store-below-runtime',
      '^store/',
      '^(lib|migrations|activities|api|workflows|workers|scripts|test)/',
      'store/ (the data layer) imports domain/ and store/ only',
    ),
    forbidUpward(
      'lib-below-adapters',
      '^lib/',
      '^(activities|api|workflows|workers|scripts|test)/',
      'lib/ (plumbing) sits below activities, api, workflows and workers',
    ),
    forbidUpward(
      'activities-below-clients',
      '^activities/',
      '^(api|workflows|workers|scripts|test)/',
      'activities are adapters over store/: no api, workflow or worker code',
    ),
    forbidUpward(
      'api-below-scripts',
      '^api/',
      '^(activities|workers|scripts|test)/',
      'the API reads through store/ and talks to workflows through their messages',
    ),
    forbidUpward(
      'workers-below-scripts',
      '^workers/',
      '^(api|scripts|test)/',
      'workers are assembled from activities and the workflow bundle',
    ),
    forbidUpward(
      'scripts-not-imported',
      '^(domain|store|lib|migrations|activities|api|workflows|workers)/',
      '^(scripts|test)/',
      'nothing below imports scripts or tests',
    ),
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment: 'workflow code is bundled into the deterministic sandbox: only domain/, workflows/ and activity types',
      from: { path: '^workflows/' },
      to: { path: '^(store|lib|migrations|api|workers|scripts|test)/' },
    },
    {
      name: 'workflows-activities-by-type',
      severity: 'error',
      comment: 'workflows proxy activities by their type only; activity code never enters the workflow bundle',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-no-io',
      severity: 'error',
      comment: 'no Node built-ins (but assert, url, util) or I/O libraries in workflow code',
      from: { path: '^workflows/' },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev'],
        pathNot: '^(assert|url|util)$|node_modules/(@temporalio|zod)/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'clients-use-messages',
      severity: 'error',
      comment: 'clients start and signal workflows through the messages file (types of workflow files are fine)',
      // (the one test that checks the references against the bundle's exports reads the bundle's index)
      from: { path: '^(api|scripts|test)/', pathNot: '^test/(workflow-refs\\.test|support/cutover-stubs)\\.ts$' },
      to: { path: '^workflows/', pathNot: '^workflows/([^/]+/messages|support/define)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(\\.data|\\.tools)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
