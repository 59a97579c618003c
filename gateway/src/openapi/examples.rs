//! Request and response examples of the operations the README walkthrough uses: the
//! same bodies (an end-to-end test, `tests/tests/e2e/docs/`, checks that they agree), so
//! `/openapi.json` and `/docs` show them. (operation id, `request` or a status, JSON).

pub const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "create_service",
        "request",
        r#"{
  "name": "add",
  "description": "adds two integers",
  "job_registration_schema": {
    "type": "object",
    "properties": {
      "a": {
        "type": "integer"
      },
      "b": {
        "type": "integer"
      }
    },
    "required": [
      "a",
      "b"
    ]
  },
  "job_result_schema": {
    "type": "object",
    "properties": {
      "sum": {
        "type": "integer"
      }
    },
    "required": [
      "sum"
    ]
  },
  "lease_seconds": 60
}"#,
    ),
    (
        "create_service",
        "201",
        r#"{
  "data": {
    "message": "service successfully created",
    "id": "9f3178ac-8c73-46e2-a2dd-6969980618aa"
  },
  "links": {
    "self": "http://localhost:8080/services"
  }
}"#,
    ),
    (
        "service_interface",
        "200",
        r#"{
  "data": {
    "service_id": "9f3178ac-8c73-46e2-a2dd-6969980618aa",
    "name": "add",
    "version": "1.0.0",
    "revision": 1,
    "latest_revision": 1,
    "inputs": {
      "files": [],
      "json": [
        {
          "name": "a",
          "type": "integer",
          "required": true
        },
        {
          "name": "b",
          "type": "integer",
          "required": true
        }
      ]
    },
    "outputs": {
      "files": [],
      "json": [
        {
          "name": "sum",
          "type": "integer",
          "required": true
        }
      ]
    }
  },
  "links": {
    "self": "http://localhost:8080/services/9f3178ac-8c73-46e2-a2dd-6969980618aa/interface?revision=1"
  }
}"#,
    ),
    (
        "submit_job",
        "request",
        r#"{
  "parameters": {
    "a": 1,
    "b": 2
  }
}"#,
    ),
    (
        "submit_job",
        "201",
        r#"{
  "data": {
    "date_submitted": "2026-12-02T01:13:03.523957+00:00",
    "id": "ac859651-d987-4eca-8b1b-3e79d82d6eb2",
    "parameters": {
      "a": 1,
      "b": 2
    },
    "results": null,
    "status": "REGISTERED"
  },
  "meta": "new job ID is ac859651-d987-4eca-8b1b-3e79d82d6eb2"
}"#,
    ),
    (
        "claim_jobs",
        "request",
        r#"{
  "max_jobs": 1,
  "lease_seconds": 60,
  "worker_id": "worker-1"
}"#,
    ),
    (
        "claim_jobs",
        "200",
        r#"{
  "data": [
    {
      "date_submitted": "2026-12-02T01:13:03.523957+00:00",
      "id": "ac859651-d987-4eca-8b1b-3e79d82d6eb2",
      "parameters": {
        "a": 1,
        "b": 2
      },
      "results": null,
      "status": "WORKING",
      "lease_token": "f320606eee16cbeec86ee974f376f4f9",
      "lease_expires_at": "2026-12-02T01:14:03.673394Z"
    }
  ],
  "links": {
    "self": "http://localhost:8080/services/9f3178ac-8c73-46e2-a2dd-6969980618aa/jobs/claim"
  }
}"#,
    ),
    (
        "heartbeat_lease",
        "request",
        r#"{
  "lease_token": "f320606eee16cbeec86ee974f376f4f9",
  "progress": 50,
  "progress_message": "halfway"
}"#,
    ),
    (
        "heartbeat_lease",
        "200",
        r#"{
  "data": {
    "lease_expires_at": "2026-12-02T01:14:03.879231Z",
    "cancelled": false,
    "cancel_reason": null
  }
}"#,
    ),
    (
        "complete_job",
        "request",
        r#"{
  "lease_token": "f320606eee16cbeec86ee974f376f4f9",
  "results": {
    "sum": 3
  }
}"#,
    ),
    (
        "complete_job",
        "200",
        r#"{
  "data": {
    "date_submitted": "2026-12-02T01:13:03.523957+00:00",
    "id": "ac859651-d987-4eca-8b1b-3e79d82d6eb2",
    "parameters": {
      "a": 1,
      "b": 2
    },
    "results": {
      "sum": 3
    },
    "status": "COMPLETED"
  },
  "links": {
    "self": "http://localhost:8080/jobs/ac859651-d987-4eca-8b1b-3e79d82d6eb2"
  }
}"#,
    ),
    (
        "fail_job",
        "request",
        r#"{
  "lease_token": "f320606eee16cbeec86ee974f376f4f9",
  "error": "instrument busy",
  "retry": true
}"#,
    ),
    (
        "fail_job",
        "200",
        r#"{
  "data": {
    "date_submitted": "2026-12-02T01:13:07.995404+00:00",
    "id": "4168be37-4981-456e-8a6f-357515731519",
    "parameters": {
      "a": 5,
      "b": 7
    },
    "results": null,
    "status": "REGISTERED"
  },
  "links": {
    "self": "http://localhost:8080/jobs/4168be37-4981-456e-8a6f-357515731519"
  }
}"#,
    ),
    (
        "get_job",
        "200",
        r#"{
  "data": {
    "date_submitted": "2026-12-02T01:13:07.995404+00:00",
    "id": "4168be37-4981-456e-8a6f-357515731519",
    "parameters": {
      "a": 5,
      "b": 7
    },
    "results": null,
    "status": "REGISTERED",
    "service_id": "9f3178ac-8c73-46e2-a2dd-6969980618aa",
    "attempts": 1,
    "max_attempts": 3,
    "error_message": "instrument busy",
    "cancelled": false,
    "priority": 0,
    "due_at": "2026-12-02T01:13:09.495713Z",
    "progress": null,
    "progress_message": null,
    "cancel_reason": null,
    "attempt_history": [
      {
        "number": 1,
        "worker_id": "worker-1",
        "claimed": "2026-12-02T01:13:08.150824Z",
        "finished": "2026-12-02T01:13:08.312713Z",
        "outcome": "RETRIED",
        "error_message": "instrument busy"
      }
    ],
    "recipe_id": null,
    "recipe_node": null
  },
  "links": {
    "self": "http://localhost:8080/jobs/4168be37-4981-456e-8a6f-357515731519"
  }
}"#,
    ),
    (
        "cancel_job",
        "200",
        r#"{
  "data": {
    "id": "4168be37-4981-456e-8a6f-357515731519",
    "status": "ERROR"
  }
}"#,
    ),
    (
        "create_recipe_type",
        "request",
        r#"{
  "title": "Add Thrice",
  "description": "x + y, plus y, plus x",
  "definition": {
    "version": "7",
    "input": {
      "files": [],
      "json": [
        {
          "name": "x",
          "type": "integer",
          "required": true
        },
        {
          "name": "y",
          "type": "integer",
          "required": true
        }
      ]
    },
    "nodes": {
      "first": {
        "dependencies": [],
        "input": {
          "a": {
            "type": "recipe",
            "input": "x"
          },
          "b": {
            "type": "recipe",
            "input": "y"
          }
        },
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1
        }
      },
      "second": {
        "dependencies": [
          {
            "name": "first"
          }
        ],
        "input": {
          "a": {
            "type": "dependency",
            "node": "first",
            "output": "sum"
          },
          "b": {
            "type": "recipe",
            "input": "y"
          }
        },
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1
        }
      },
      "third": {
        "dependencies": [
          {
            "name": "second"
          }
        ],
        "input": {
          "a": {
            "type": "dependency",
            "node": "second",
            "output": "sum"
          },
          "b": {
            "type": "recipe",
            "input": "x"
          }
        },
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1
        }
      }
    }
  }
}"#,
    ),
    (
        "create_recipe_type",
        "201",
        r#"{
  "id": 1,
  "name": "add-thrice",
  "title": "Add Thrice",
  "description": "x + y, plus y, plus x",
  "revision_num": 1,
  "is_active": true,
  "is_system": false,
  "created": "2026-12-02T01:13:15.373366Z",
  "deprecated": null,
  "last_modified": "2026-12-02T01:13:15.373366Z",
  "definition": {
    "input": {
      "files": [],
      "json": [
        {
          "name": "x",
          "type": "integer",
          "required": true
        },
        {
          "name": "y",
          "type": "integer",
          "required": true
        }
      ]
    },
    "nodes": {
      "first": {
        "dependencies": [],
        "input": {
          "a": {
            "type": "recipe",
            "input": "x"
          },
          "b": {
            "type": "recipe",
            "input": "y"
          }
        },
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1
        }
      },
      "second": {
        "dependencies": [
          {
            "name": "first",
            "acceptance": true
          }
        ],
        "input": {
          "a": {
            "type": "dependency",
            "node": "first",
            "output": "sum"
          },
          "b": {
            "type": "recipe",
            "input": "y"
          }
        },
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1
        }
      },
      "third": {
        "dependencies": [
          {
            "name": "second",
            "acceptance": true
          }
        ],
        "input": {
          "a": {
            "type": "dependency",
            "node": "second",
            "output": "sum"
          },
          "b": {
            "type": "recipe",
            "input": "x"
          }
        },
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1
        }
      }
    }
  },
  "job_types": [
    {
      "id": "9f3178ac-8c73-46e2-a2dd-6969980618aa",
      "name": "add",
      "version": "1.0.0",
      "revision_num": 1,
      "description": "adds two integers"
    }
  ],
  "sub_recipe_types": [],
  "super_recipe_types": []
}"#,
    ),
    (
        "create_recipe",
        "request",
        r#"{
  "recipe_type_name": "add-thrice",
  "input": {
    "json": {
      "x": 1,
      "y": 2
    }
  }
}"#,
    ),
    (
        "create_recipe",
        "201",
        r#"{
  "id": 1,
  "recipe_type": {
    "id": 1,
    "name": "add-thrice",
    "title": "Add Thrice",
    "description": "x + y, plus y, plus x",
    "revision_num": 1
  },
  "recipe_type_rev": {
    "id": 1,
    "recipe_type": {
      "id": 1
    },
    "revision_num": 1
  },
  "event": {
    "id": 1,
    "type": "USER",
    "occurred": "2026-12-02T01:13:17.715127Z"
  },
  "recipe": null,
  "batch": null,
  "is_superseded": false,
  "superseded_recipe": null,
  "status": "RUNNING",
  "is_completed": false,
  "jobs_total": 3,
  "jobs_pending": 2,
  "jobs_blocked": 0,
  "jobs_queued": 1,
  "jobs_running": 0,
  "jobs_failed": 0,
  "jobs_completed": 0,
  "jobs_canceled": 0,
  "sub_recipes_total": 0,
  "sub_recipes_completed": 0,
  "created": "2026-12-02T01:13:17.715127Z",
  "completed": null,
  "superseded": null,
  "last_modified": "2026-12-02T01:13:17.753039Z",
  "superseded_by_recipe": null,
  "input": {
    "files": {},
    "json": {
      "x": 1,
      "y": 2
    }
  },
  "configuration": {},
  "details": {
    "nodes": {
      "first": {
        "dependencies": [],
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1,
          "job_id": "9e299ca3-a58d-4dc6-84ea-663da6022a0e",
          "status": "QUEUED"
        }
      },
      "second": {
        "dependencies": [
          {
            "name": "first"
          }
        ],
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1,
          "job_id": null,
          "status": "PENDING"
        }
      },
      "third": {
        "dependencies": [
          {
            "name": "second"
          }
        ],
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_type_version": "1.0.0",
          "job_type_revision": 1,
          "job_id": null,
          "status": "PENDING"
        }
      }
    }
  },
  "job_types": [
    {
      "id": "9f3178ac-8c73-46e2-a2dd-6969980618aa",
      "name": "add",
      "version": "1.0.0",
      "revision_num": 1
    }
  ],
  "sub_recipe_types": []
}"#,
    ),
    (
        "get_recipe",
        "200",
        r#"{
  "id": 1,
  "recipe_type": {
    "id": 1,
    "name": "add-thrice",
    "revision_num": 1
  },
  "status": "COMPLETED",
  "is_completed": true,
  "jobs_total": 3,
  "jobs_pending": 0,
  "jobs_queued": 0,
  "jobs_running": 0,
  "jobs_failed": 0,
  "jobs_completed": 3,
  "created": "2026-12-02T01:13:17.715127Z",
  "completed": "2026-12-02T01:13:25.431701Z",
  "input": {
    "files": {},
    "json": {
      "x": 1,
      "y": 2
    }
  },
  "details": {
    "nodes": {
      "first": {
        "dependencies": [],
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_id": "9e299ca3-a58d-4dc6-84ea-663da6022a0e",
          "status": "COMPLETED"
        }
      },
      "second": {
        "dependencies": [
          {
            "name": "first"
          }
        ],
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_id": "7e1f1efc-ce67-4f54-8321-0184303550bd",
          "status": "COMPLETED"
        }
      },
      "third": {
        "dependencies": [
          {
            "name": "second"
          }
        ],
        "node_type": {
          "node_type": "job",
          "job_type_name": "add",
          "job_id": "0c6d3b5e-52a1-4f0e-9d61-2b7f0a9e4c13",
          "status": "COMPLETED"
        }
      }
    }
  }
}"#,
    ),
    (
        "edit_recipe_type",
        "request",
        r#"{
  "description": "adds y twice, then x"
}"#,
    ),
    (
        "edit_recipe_type",
        "200",
        r#"{
  "is_valid": true,
  "errors": [],
  "warnings": [],
  "diff": {}
}"#,
    ),
];
