/* a block comment; /* nested; */ still inside */ SELECT 1;
-- line comment; SELECT 2;
SELECT /* inline ; */ 3 -- trailing ;
;
/* leading */ /* two */ SELECT 4; /**/ SELECT 5;
SELECT 6 /* unterminated at the end? no: */;
